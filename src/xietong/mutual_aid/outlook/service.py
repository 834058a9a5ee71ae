"""Capacity against demand per district and day over the planning days: the numbers the plan
and the dashboard start from, read from the capacity reports, the cases, analytics and screening
domains (through their service functions), or stated explicitly by the caller.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from xietong.analytics.expected import HORIZON_DAYS
from xietong.areas import service as areas_service
from xietong.core.errors import RowError, ValidationFailed
from xietong.core.kept import Kept
from xietong.mutual_aid import sources
from xietong.mutual_aid.outlook.demand import (
    PLANNED_RESOURCES,
    DemandProjection,
    Projection,
    StayRules,
    project_demand,
    project_forecast_read,
    project_new_cases,
)
from xietong.mutual_aid.schemas import DemandInputs, DemandRead, OutlookCell
from xietong.policy.service import policy_in_force
from xietong.resources.service import capacity_by_district
from xietong.resources.vocabulary import RESOURCE_OF_FACILITY_KIND, RESOURCES

FloatArray = npt.NDArray[np.float64]

# The forecast page's horizon (`analytics.expected`): a plan of up to so many days reads the
# first days of the page's forecast, the same numbers; a longer one is forecast over its own days
# (other draws of the same model).
FORECAST_DAYS = HORIZON_DAYS


@dataclass(frozen=True, eq=False)
class Outlook:
    """Capacity, places in use and demand per district over the planning days.

    ``capacity`` and ``in_use`` cover ``all_days``: the planning days and the days the longest
    stay runs past them; ``demand`` covers the planning days.
    """

    district_codes: tuple[str, ...]
    district_ids: tuple[int, ...]
    days: tuple[date, ...]
    all_days: tuple[date, ...]
    capacity: dict[str, FloatArray]
    in_use: dict[str, FloatArray]
    demand: DemandProjection
    rules: StayRules
    contacts_per_case: float
    policy_version: str
    distance_km: FloatArray
    tubes_source: str


def outlook(
    session: Session,
    *,
    first_day: date,
    days: int,
    inputs: DemandInputs,
    tz: str,
    history_key: Hashable | None = None,
) -> Outlook:
    """Capacity against demand for `days` days from `first_day`, from stored data and `inputs`.

    `history_key` names the forecast's history as the caller knows it (the dashboard: the
    digest of the daily series the forecast page keys its forecast on): while it is the same,
    the projection kept under it is used without reading the history (the reporting delays of
    its 28 days) again.
    """
    matrix = areas_service.distance_matrix(session)
    codes = tuple(matrix.codes)
    ids_by_code = areas_service.district_id_by_code(session)
    ids = tuple(ids_by_code[code] for code in codes)
    policy = policy_in_force(session, day=first_day)
    rules = StayRules(
        centralised_quarantine_days=policy.quarantine.centralised_quarantine_days,
        home_isolation_days=policy.quarantine.home_isolation_days,
        case_stay_days=inputs.case_stay_days,
    )
    planning = tuple(first_day + timedelta(days=k) for k in range(days))
    extra = max(rules.stay_days(r) for r in PLANNED_RESOURCES) - 1
    all_days = tuple(first_day + timedelta(days=k) for k in range(days + extra))
    capacity = capacity_by_district(session, days=all_days, district_ids=ids)
    in_use = _in_use(session, inputs=inputs, codes=codes, ids=ids, days=all_days)
    quantile = policy.mutual_aid.demand_quantile
    given = _series(inputs.forecast_new_cases, "forecast_new_cases", codes, days)
    if given is not None:
        # A forecast stated by the caller needs no history.
        projection = project_new_cases(
            np.zeros((len(codes), 0)), horizon_days=days, forecast_given=given
        )
    elif inputs.recent_new_cases is not None:
        stated = _series(inputs.recent_new_cases, "recent_new_cases", codes, None)
        assert stated is not None
        projection = _stated_projection(
            stated, horizon_days=days, population=_populations(session, ids), quantile=quantile
        )
    else:
        projection = _forecast_projection(
            session,
            codes=codes,
            first_day=first_day,
            days=days,
            quantile=quantile,
            tz=tz,
            history_key=history_key,
        )
    tubes = _series(inputs.planned_tubes, "planned_tubes", codes, days)
    tubes_source = "given"
    if tubes is None:
        plan = sources.planned_tubes(session, days=planning)
        # Without a screening plan the laboratories' demand is unknown: said, not guessed.
        tubes_source = "screening_plan" if plan is not None else "not_available"
        tubes = _by_day(plan or {}, ids, planning)
    demand = project_demand(
        days=planning,
        projection=projection,
        contacts_per_case=inputs.contacts_per_case,
        rules=rules,
        committed={r: values[:, :days] for r, values in in_use.items()},
        planned_tubes=tubes,
        new_contacts=_series(inputs.new_contacts, "new_contacts", codes, days),
    )
    return Outlook(
        district_codes=codes,
        district_ids=ids,
        days=planning,
        all_days=all_days,
        capacity=capacity,
        in_use=in_use,
        demand=demand,
        rules=rules,
        contacts_per_case=inputs.contacts_per_case,
        policy_version=policy.version,
        distance_km=np.array(matrix.km, dtype=np.float64),
        tubes_source=tubes_source,
    )


# The forecast is pure and draws its ensembles from a fixed seed: the same history gives the same
# projection. The mutual-aid page asks for the same outlook on every view (the forecast's 400 runs
# from each of 15 days are most of its processor time), so the last few projections are kept under
# a digest of every input; a changed count, population, horizon or quantile is another key.
_projections: Kept[Projection] = Kept(size=8)


def _forecast_projection(
    session: Session,
    *,
    codes: Sequence[str],
    first_day: date,
    days: int,
    quantile: float,
    tz: str,
    history_key: Hashable | None = None,
) -> Projection:
    """New cases at `quantile` of the forecast the forecast page shows from the day before
    `first_day`: the same history (`sources.forecast_history`), model, runs, seed and cap, so
    that a district's demand is the page's number for that district and day. Kept under the
    history itself, and under `history_key` when given (its history is then not read while
    the key is the same)."""
    horizon = max(days, FORECAST_DAYS)
    if history_key is not None:
        named = repr(("history named", history_key, first_day, tz, horizon, days, quantile))
        return _remembered(
            named + repr(tuple(codes)),
            lambda: _forecast_projection(
                session, codes=codes, first_day=first_day, days=days, quantile=quantile, tz=tz
            ),
        )
    history = sources.forecast_history(session, last_day=first_day - timedelta(days=1), tz=tz)
    if history is None:
        return Projection(new_cases=np.zeros((len(codes), days)), source="none", growth_rate=None)
    key = repr(("forecast", history.digest(), horizon, days, quantile, tuple(codes)))

    def made() -> Projection:
        read = project_forecast_read(
            sources.forecast_quantiles(session, history, horizon_days=horizon),
            horizon_days=days,
            quantile=quantile,
        )
        # The page's districts by code (the same list, maybe in another order); one the
        # history does not hold has no case to forecast.
        column = {code: k for k, code in enumerate(history.codes)}
        new_cases = np.zeros((len(codes), days))
        for row, code in enumerate(codes):
            if code in column:
                new_cases[row] = read.new_cases[column[code]]
        return Projection(
            new_cases=new_cases, source=read.source, growth_rate=None, quantile=read.quantile
        )

    return _remembered(key, made)


def forget_projections() -> None:
    """Drop the projections kept (as after a change of every history read)."""
    _projections.clear()


def _stated_projection(
    recent: FloatArray, *, horizon_days: int, population: FloatArray, quantile: float
) -> Projection:
    """`project_new_cases` of counts stated by the caller, remembered under its inputs."""
    digest = hashlib.sha256(repr(("stated", horizon_days, quantile)).encode())
    for array in (recent, population):
        values = np.ascontiguousarray(array, dtype=np.float64)
        digest.update(repr(values.shape).encode())
        digest.update(values.tobytes())
    return _remembered(
        digest.hexdigest(),
        lambda: project_new_cases(
            recent, horizon_days=horizon_days, population=population, quantile=quantile
        ),
    )


def _remembered(key: str, make: Callable[[], Projection]) -> Projection:
    def shared() -> Projection:
        made = make()
        # Shared between views from now on: nobody may change it in place.
        for array in (made.new_cases, made.growth_rate):
            if array is not None:
                array.setflags(write=False)
        return made

    return _projections.get_or_make(key, shared)


def _populations(session: Session, ids: Sequence[int]) -> FloatArray:
    """Residents per district; NaN where unknown (a functional zone counted in its host)."""
    population = {d.id: d.population for d in areas_service.list_districts(session)}
    return np.array([population.get(i) or np.nan for i in ids], dtype=np.float64)


def _series(
    given: Mapping[str, Sequence[float]] | None,
    name: str,
    codes: Sequence[str],
    days: int | None,
) -> FloatArray | None:
    """A per-district series from the request as (districts, days); unknown codes refused."""
    if given is None:
        return None
    errors = [
        RowError(f"{name}.{code}", "district_code", "unknown district", code)
        for code in given
        if code not in codes
    ]
    width = days if days is not None else max((len(v) for v in given.values()), default=0)
    for code, values in given.items():
        if days is not None and len(values) != days:
            errors.append(
                RowError(f"{name}.{code}", "days", f"expected {days} values, got {len(values)}")
            )
        if any(not np.isfinite(v) or v < 0 for v in values):
            errors.append(RowError(f"{name}.{code}", "value", "must be non-negative numbers"))
    if errors:
        raise ValidationFailed(errors=errors, summary=f"{name} refused")
    series = np.zeros((len(codes), width))
    for i, code in enumerate(codes):
        values = list(given.get(code, []))
        # A shorter history is aligned on its last day, the day before the plan.
        if values:
            series[i, width - len(values) :] = values
    return series


def _by_day(
    per_day: Mapping[date, Mapping[int, float]], ids: Sequence[int], days: Sequence[date]
) -> FloatArray:
    values = np.zeros((len(ids), len(days)))
    for t, day in enumerate(days):
        counts = per_day.get(day, {})
        for i, district_id in enumerate(ids):
            values[i, t] = counts.get(district_id, 0)
    return values


def _in_use(
    session: Session,
    *,
    inputs: DemandInputs,
    codes: Sequence[str],
    ids: Sequence[int],
    days: Sequence[date],
) -> dict[str, FloatArray]:
    if inputs.in_use is not None:
        in_use = {r: np.zeros((len(ids), len(days))) for r in RESOURCES}
        for resource, series in inputs.in_use.items():
            # A series shorter than the days asked holds its last value: persons stay placed.
            padded = {
                code: [*values, *[values[-1]] * (len(days) - len(values))] if values else []
                for code, values in series.items()
            }
            stated = _series(padded, f"in_use.{resource}", codes, len(days))
            assert stated is not None
            in_use[resource] = stated
        return in_use
    in_use = {r: np.zeros((len(ids), len(days))) for r in RESOURCES}
    index = {district_id: i for i, district_id in enumerate(ids)}
    for t, occupancy in enumerate(sources.bed_occupancy(session, days=days)):
        for district_id, kinds in occupancy.items():
            row = index.get(district_id)
            if row is None:
                continue
            for kind, beds in kinds.items():
                held = RESOURCE_OF_FACILITY_KIND.get(kind)
                if held is not None:
                    in_use[held][row, t] += beds
    return in_use


def demand_read(view: Outlook) -> DemandRead:
    """The outlook as the dashboard's table: capacity against demand per district and day."""
    n_t = len(view.days)
    cells = []
    for resource in RESOURCES:
        capacity = view.capacity[resource][:, :n_t]
        in_use = view.in_use[resource][:, :n_t]
        needed = view.demand.needed[resource]
        arrivals = view.demand.arrivals[resource]
        for i, code in enumerate(view.district_codes):
            for t, day in enumerate(view.days):
                if not (capacity[i, t] or needed[i, t] or arrivals[i, t]):
                    continue
                cells.append(
                    OutlookCell(
                        district_code=code,
                        resource=resource,
                        day=day,
                        capacity=int(capacity[i, t]),
                        in_use=int(in_use[i, t]),
                        arrivals=int(arrivals[i, t]),
                        needed=int(needed[i, t]),
                        gap=int(needed[i, t] - capacity[i, t]),
                    )
                )
    return DemandRead(
        first_day=view.days[0],
        last_day=view.days[-1],
        policy_version=view.policy_version,
        demand_source=view.demand.source,
        demand_quantile=view.demand.quantile,
        tubes_source=view.tubes_source,
        stay_days={r: view.rules.stay_days(r) for r in RESOURCES},
        contacts_per_case=view.contacts_per_case,
        districts=list(view.district_codes),
        new_cases=_rows(view.district_codes, view.demand.new_cases),
        new_contacts=_rows(view.district_codes, view.demand.new_contacts),
        cells=cells,
    )


def _rows(codes: Sequence[str], values: FloatArray) -> dict[str, list[int]]:
    return {code: [int(v) for v in values[i]] for i, code in enumerate(codes) if values[i].any()}
