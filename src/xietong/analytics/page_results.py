"""The results the pages read on every view of the last complete day (the trend, the backtested
forecast, the transmission model's scenarios and the forecast's quantiles the mutual-aid demand
plans on), computed by the refresh job once the daily series changed and kept in the database.

A result is kept under a digest of everything it is computed from: the daily series' fingerprint
(with the policy version in force), the day, the parameters and this package's code. A page
derives the same key from the series it reads and finds the result, in any process and after a
restart; without it (a database never refreshed, another day asked for) the page computes the
result itself.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Final, TypeVar

import numpy as np
from pydantic import BaseModel
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from xietong.analytics import expected as analytics_expected
from xietong.analytics import situation as analytics_situation
from xietong.analytics.core.arrays import FloatArray
from xietong.analytics.models import PageResult, RefreshWatermark
from xietong.analytics.nowcasting import DelayReads
from xietong.analytics.schemas import ForecastOptions
from xietong.analytics.service import WATERMARK_NAME, daily_series
from xietong.areas import service as areas_service
from xietong.core.clock import local_day
from xietong.core.errors import NotFound
from xietong.policy.service import policy_in_force

M = TypeVar("M", bound=BaseModel)

#: The days of the trend the overview's curve and the forecast page's history draw.
TREND_DAYS: Final = 28
#: The forecast page's scenarios: the days ahead it offers and how they are run.
SCENARIO_HORIZONS: Final = (14, 28)
SCENARIO_RUNS: Final = 200
SCENARIO_SEED: Final = 0
CALIBRATION_DAYS: Final = 10
#: Results of days this far before the newest are dropped when a newer one is kept.
KEEP_DAYS: Final = 7

Populations = tuple[tuple[str, int | None], ...]


def series_fingerprint(session: Session, *, first_day: date, last_day: date) -> str:
    """A digest of the daily series over the days and of the policy in force on the last one."""
    series = daily_series(session, first_day=first_day, last_day=last_day)
    digest = hashlib.sha256()
    digest.update(series.source.encode())
    digest.update(",".join(series.codes).encode())
    for name in sorted(series.values):
        digest.update(name.encode())
        digest.update(series.values[name].tobytes())
        missing = series.missing.get(name)
        if missing is not None:
            digest.update(missing.tobytes())
    digest.update(policy_in_force(session, day=last_day).version.encode())
    return digest.hexdigest()


def district_populations(session: Session) -> Populations:
    """Each district's census population: the forecast's cap, so a part of its key."""
    return tuple((d.code, d.population) for d in areas_service.list_districts(session))


def scenario_options(horizon_days: int) -> ForecastOptions:
    """How the forecast page runs its scenarios over `horizon_days`."""
    return ForecastOptions(
        horizon_days=horizon_days,
        runs=SCENARIO_RUNS,
        seed=SCENARIO_SEED,
        calibration_days=CALIBRATION_DAYS,
    )


@dataclass(frozen=True)
class ResultKey:
    """What a result is and what it is computed from (values whose repr is stable), and by
    which analytics code."""

    kind: str
    last_day: date
    inputs: tuple[object, ...]

    @property
    def digest(self) -> str:
        kept = repr((self.kind, self.last_day, self.inputs, _code_digest()))
        return hashlib.sha256(kept.encode()).hexdigest()


@functools.cache
def _code_digest() -> str:
    """A digest of this package's source: a result kept by another release (a changed model,
    the same series) is another key, never read as this release's."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def trend_key(*, last_day: date, days: int, fingerprint: str) -> ResultKey:
    return ResultKey("trend", last_day, (days, fingerprint))


def expected_key(
    *, last_day: date, tz: str, fingerprint: str, populations: Populations, per_district: bool
) -> ResultKey:
    kind = "expected" if per_district else "expected_city"
    return ResultKey(kind, last_day, (tz, fingerprint, populations))


def scenarios_key(*, last_day: date, options: ForecastOptions, fingerprint: str) -> ResultKey:
    return ResultKey(
        f"scenarios_{options.horizon_days}", last_day, (options.model_dump_json(), fingerprint)
    )


def quantiles_key(inputs: analytics_expected.ExpectedInputs, *, horizon_days: int) -> ResultKey:
    return ResultKey(f"quantiles_{horizon_days}", inputs.last_day, (inputs.digest(),))


# ---------------------------------------------------------------------------------------------
# Reading


def stored_or_computed(
    session: Session, key: ResultKey, model: type[M], compute: Callable[[], M]
) -> M:
    """The result kept under `key`, or `compute()`'s (not kept: only the refresh job writes)."""
    payload = _payload(session, key)
    if payload is None:
        return compute()
    return model.model_validate(json.loads(payload))


def quantiles(
    session: Session, inputs: analytics_expected.ExpectedInputs, *, horizon_days: int
) -> FloatArray:
    """`analytics.expected.expected_quantiles` of `inputs`, as kept by the refresh job when it
    kept them for this history and horizon (read-only)."""
    payload = _payload(session, quantiles_key(inputs, horizon_days=horizon_days))
    if payload is None:
        return analytics_expected.expected_quantiles(inputs, horizon_days=horizon_days)
    return _array(payload)


def _payload(session: Session, key: ResultKey) -> str | None:
    return session.scalar(select(PageResult.payload).where(PageResult.key == key.digest))


# ---------------------------------------------------------------------------------------------
# The refresh job's part


def keep_page_results(session: Session, *, now: datetime, tz: str) -> list[str]:
    """Compute the results the pages read for the last complete day before `now` that are not
    kept yet under the series as it now stands, and keep them; the kinds computed (none when
    nothing changed or no count exists yet). Flushes, never commits."""
    last_day = local_day(now, tz) - timedelta(days=1)
    # One run at a time, and not beside a refresh: both hold the refresh's watermark.
    session.scalar(
        select(RefreshWatermark).where(RefreshWatermark.name == WATERMARK_NAME).with_for_update()
    )
    keeper = _Keeper(session, now=now)
    # The trend's nowcast and the forecast read the same reporting delays: once.
    reads = DelayReads()
    try:
        fingerprint = series_fingerprint(
            session, first_day=last_day - timedelta(days=TREND_DAYS - 1), last_day=last_day
        )
        key = trend_key(last_day=last_day, days=TREND_DAYS, fingerprint=fingerprint)
        if keeper.wants(key):
            trend = analytics_situation.trend(
                session, last_day=last_day, days=TREND_DAYS, reads=reads
            )
            keeper.keep(key, _encoded(trend))
        _keep_expected(session, keeper, last_day=last_day, tz=tz, reads=reads)
        calibration = series_fingerprint(
            session, first_day=last_day - timedelta(days=CALIBRATION_DAYS - 1), last_day=last_day
        )
        for horizon in SCENARIO_HORIZONS:
            options = scenario_options(horizon)
            key = scenarios_key(last_day=last_day, options=options, fingerprint=calibration)
            if keeper.wants(key):
                scenarios = analytics_situation.compare_scenarios(
                    session, last_day=last_day, options=options
                )
                keeper.keep(key, _encoded(scenarios))
    except NotFound:
        # No count to compute from yet: the pages say so themselves.
        pass
    return keeper.computed


def _keep_expected(
    session: Session, keeper: _Keeper, *, last_day: date, tz: str, reads: DelayReads
) -> None:
    """The forecast per district (the forecast page), of the city alone (the overview) and its
    quantiles at every level (the mutual-aid demand), all from one read of the history."""
    first_day = last_day - timedelta(days=analytics_expected.HISTORY_DAYS - 1)
    fingerprint = series_fingerprint(session, first_day=first_day, last_day=last_day)
    populations = district_populations(session)
    inputs = analytics_expected.expected_inputs(session, last_day=last_day, tz=tz, reads=reads)
    every, city = (
        expected_key(
            last_day=last_day,
            tz=tz,
            fingerprint=fingerprint,
            populations=populations,
            per_district=per_district,
        )
        for per_district in (True, False)
    )
    if keeper.wants(every) or keeper.wants(city):
        ahead = analytics_expected.expected_forecast(inputs)
        if keeper.wants(every):
            keeper.keep(every, _encoded(ahead))
        # The city is forecast as a series of its own, the same with or without the districts.
        if keeper.wants(city):
            keeper.keep(city, _encoded(ahead.model_copy(update={"districts": []})))
    horizon = analytics_expected.HORIZON_DAYS
    key = quantiles_key(inputs, horizon_days=horizon)
    if keeper.wants(key):
        levels = analytics_expected.expected_quantiles(inputs, horizon_days=horizon)
        keeper.keep(key, _encoded_array(levels))


class _Keeper:
    """Writes the results one run of the job computes, and lists their kinds."""

    def __init__(self, session: Session, *, now: datetime) -> None:
        self.session = session
        self.now = now
        self.computed: list[str] = []

    def wants(self, key: ResultKey) -> bool:
        return _payload(self.session, key) is None

    def keep(self, key: ResultKey, payload: str) -> None:
        _write(self.session, key, payload, now=self.now)
        self.computed.append(key.kind)


def _write(session: Session, key: ResultKey, payload: str, *, now: datetime) -> None:
    # A result of the same kind and day under another key was computed from a series that has
    # changed since: no page will ask for it again.
    session.execute(
        delete(PageResult).where(
            (PageResult.last_day < key.last_day - timedelta(days=KEEP_DAYS))
            | ((PageResult.kind == key.kind) & (PageResult.last_day == key.last_day))
        )
    )
    session.add(
        PageResult(
            key=key.digest, kind=key.kind, last_day=key.last_day, payload=payload, computed_at=now
        )
    )
    session.flush()


# ---------------------------------------------------------------------------------------------
# Payloads: Python's JSON writes a float's shortest exact repr (and inf as Infinity), so a result
# read back equals the one computed to the last bit.


def _encoded(model: BaseModel) -> str:
    return json.dumps(model.model_dump(), default=_plain, separators=(",", ":"))


def _plain(value: object) -> object:
    if isinstance(value, date):  # a datetime too
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"cannot keep a {type(value).__name__} in a page result")


def _encoded_array(values: FloatArray) -> str:
    data = np.ascontiguousarray(values, dtype="<f8").tobytes()
    return json.dumps({"shape": list(values.shape), "float64": base64.b64encode(data).decode()})


def _array(payload: str) -> FloatArray:
    kept = json.loads(payload)
    values: FloatArray = np.frombuffer(base64.b64decode(kept["float64"]), dtype="<f8").reshape(
        kept["shape"]
    )
    return values
