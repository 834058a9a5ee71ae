"""What is expected over the next two weeks: the growth forecast recalibrated by its own past
misses (`core.recalibrated`), the forecast the backtests score, on the series they read on this
deployment, per district and city-wide, capped by the susceptibles a district still holds.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final, Literal

import numpy as np
from sqlalchemy.orm import Session

from xietong.analytics.core.arrays import FloatArray
from xietong.analytics.core.growth_forecast import GrowthModel, own_growth_weights
from xietong.analytics.core.recalibrated import recalibrated_quantiles
from xietong.analytics.core.scores import HUB_QUANTILE_LEVELS
from xietong.analytics.core.susceptibles import SusceptiblesLeft, capped, susceptibles_left
from xietong.analytics.nowcasting import DelayReads, reporting_triangle
from xietong.analytics.schemas import (
    BandsRead,
    ExpectedDistrictRead,
    ExpectedParameters,
    ExpectedRead,
)
from xietong.analytics.service import daily_series, require_counts
from xietong.core.clock import DEFAULT_TZ
from xietong.core.kept import Kept

HORIZON_DAYS: Final = 14
#: The recalibration's look-backs (`conformal.recalibrate`): 14 days of earlier forecasts for
#: the inner intervals, 21 for the outer ones.
LOOKBACK_DAYS: Final = 14
OUTER_LOOKBACK_DAYS: Final = 21
#: Days of history read: the earliest forecast the outer intervals read, 21 days back, and the
#: model's week of history before it.
HISTORY_DAYS: Final = OUTER_LOOKBACK_DAYS + GrowthModel().window_days
#: As many runs as a backtest's forecast, and its default seed: the same history gives the
#: quantiles `xietong analytics backtest` would score from that day.
RUNS: Final = 400
SEED: Final = 0
#: The quantiles shown (the 50 % and 90 % bands), taken from the backtests' 23 levels.
SHOWN_LEVELS: Final = (0.05, 0.25, 0.5, 0.75, 0.95)
_SHOWN: Final = [HUB_QUANTILE_LEVELS.index(level) for level in SHOWN_LEVELS]

Series = Literal["nowcast", "reported", "official"]


@dataclass(frozen=True, eq=False)
class ExpectedInputs:
    """The history the forecast starts from: new infections (days × districts, oldest first),
    which series they are, and each district's census population (NaN: none)."""

    last_day: date
    days: tuple[date, ...]
    codes: tuple[str, ...]
    names: tuple[str, ...]
    counts: FloatArray
    population: FloatArray
    series: Series

    def susceptibles(self) -> SusceptiblesLeft:
        """Each district's and the city's susceptibles on the last day, the forecast's cap."""
        return susceptibles_left(self.population, infections=self.counts)

    def digest(self) -> str:
        """A key for the forecast of these inputs: the same key, the same quantiles."""
        digest = hashlib.sha256(repr((self.last_day, self.codes, self.series)).encode())
        for values in (self.counts, self.population):
            digest.update(repr(values.shape).encode())
            digest.update(np.ascontiguousarray(values).tobytes())
        return digest.hexdigest()


def expected_inputs(
    session: Session, *, last_day: date, tz: str = DEFAULT_TZ, reads: DelayReads | None = None
) -> ExpectedInputs:
    """Read the history the backtests read on this deployment, up to `last_day` (the delays
    through `reads` when given).

    Official counts when in force (whole-day figures); else the cases by the day first sampled
    with the last days completed by each district's chain-ladder (`nowcasting`); where the
    cases domain holds no case, the daily aggregates. Refused (NotFound) without any count.
    """
    first_day = last_day - timedelta(days=HISTORY_DAYS - 1)
    data = daily_series(session, first_day=first_day, last_day=last_day)
    require_counts(data)
    districts = data.districts
    counts = data.infections().T.astype(np.float64)
    series: Series = "official" if data.source == "official" else "reported"
    if data.source != "official":
        read = reporting_triangle(
            session, first_day=first_day, last_day=last_day, tz=tz, reads=reads
        )
        if read.cases.any():
            districts = read.districts
            counts = read.completed(len(read.days) - 1).T
            series = "nowcast"
    return ExpectedInputs(
        last_day=last_day,
        days=data.days,
        codes=tuple(d.code for d in districts),
        names=tuple(d.name_hans for d in districts),
        counts=counts,
        population=np.array([d.population or np.nan for d in districts], dtype=np.float64),
        series=series,
    )


def expected_infections(session: Session, *, last_day: date, tz: str = DEFAULT_TZ) -> ExpectedRead:
    """The backtested forecast of the `HORIZON_DAYS` days after `last_day`."""
    return expected_forecast(expected_inputs(session, last_day=last_day, tz=tz))


def expected_forecast(inputs: ExpectedInputs, *, per_district: bool = True) -> ExpectedRead:
    """The recalibrated growth forecast of the next `HORIZON_DAYS` days after the inputs' last
    day, per district and of the city's sum (forecast as a series of its own: quantiles do not
    add up), each quantile at most the susceptibles left where the population is known.

    Without `per_district` only the city is forecast (its quantiles are the same: the city is
    its own series), for a view that draws the city alone at a 42nd of the cost.
    """
    left = inputs.susceptibles()
    if per_district:
        districts = expected_quantiles(inputs)[..., _SHOWN]
        own = own_growth_weights(inputs.counts)
    else:
        districts = np.empty((HORIZON_DAYS, 0, len(SHOWN_LEVELS)))
    city = _quantiles(
        inputs.counts.sum(axis=1, keepdims=True),
        susceptible=np.array([left.city]),
        horizon_days=HORIZON_DAYS,
    )[..., _SHOWN]
    first = inputs.last_day + timedelta(days=1)
    return ExpectedRead(
        parameters=ExpectedParameters(
            method="growth_recalibrated",
            series=inputs.series,
            history_first_day=inputs.days[0],
            last_day=inputs.last_day,
            first_forecast_day=first,
            horizon_days=HORIZON_DAYS,
            runs=RUNS,
            seed=SEED,
            lookback_days=LOOKBACK_DAYS,
            outer_lookback_days=OUTER_LOOKBACK_DAYS,
        ),
        days=[first + timedelta(days=k) for k in range(HORIZON_DAYS)],
        city=_bands(city[:, 0]),
        city_susceptible=_number(left.city),
        districts=[
            ExpectedDistrictRead(
                code=code,
                name=name,
                susceptible=_number(left.districts[d]),
                own_growth=float(own[d]),
                infections=_bands(districts[:, d]),
            )
            for d, (code, name) in enumerate(zip(inputs.codes, inputs.names, strict=True))
            if per_district
        ],
    )


# The forecast page and the mutual-aid demand read the same quantiles of the same history; its
# ensembles (400 runs from each of 15 days for every district) are most of the first view after
# a refresh, so the last few are kept under the history's digest and drawn once for both.
_kept: Final[Kept[FloatArray]] = Kept(size=4)


def expected_quantiles(inputs: ExpectedInputs, *, horizon_days: int = HORIZON_DAYS) -> FloatArray:
    """Every district's forecast at the backtests' 23 levels (`HUB_QUANTILE_LEVELS`), shape
    (days ahead, districts, levels), each at most the district's susceptibles: what the pages
    show and the mutual-aid demand plans on, so that both read the same numbers (read-only:
    kept for the next reader of the same history and horizon).

    The districts are forecast together (their runs share the random streams, as a backtest
    draws them), so a district's numbers are those of these inputs' districts and horizon: the
    first days of a longer horizon are other draws.
    """

    def made() -> FloatArray:
        every = _quantiles(
            inputs.counts, susceptible=inputs.susceptibles().districts, horizon_days=horizon_days
        )
        every.setflags(write=False)
        return every

    return _kept.get_or_make((inputs.digest(), horizon_days), made)


def forget_quantiles() -> None:
    """Drop the quantiles kept (as after a change of every history read)."""
    _kept.clear()


def _quantiles(counts: FloatArray, *, susceptible: FloatArray, horizon_days: int) -> FloatArray:
    """(days ahead, units, hub levels), capped by ``susceptible`` (inf: no cap)."""
    every = recalibrated_quantiles(
        counts,
        horizon_days=horizon_days,
        rng=np.random.default_rng(SEED),
        runs=RUNS,
        lookback_days=LOOKBACK_DAYS,
        outer_lookback_days=OUTER_LOOKBACK_DAYS,
    )
    return capped(every, susceptible=susceptible)


def _bands(values: FloatArray) -> BandsRead:
    """Bands of one unit from its (days ahead, shown levels) quantiles."""
    p05, p25, median, p75, p95 = (values[:, k].tolist() for k in range(len(SHOWN_LEVELS)))
    return BandsRead(p05=p05, p25=p25, median=median, p75=p75, p95=p95)


def _number(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None
