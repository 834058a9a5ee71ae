"""The forecast's numbers as the API shows them: quantile bands per day or per district, the
spread of one day, and a scenario's parameters named by district code."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from xietong.analytics.core.ensemble import Bands
from xietong.analytics.core.seir import Scenario
from xietong.analytics.schemas import BandsRead, ScenarioRead, SpreadRead
from xietong.areas import service as areas_service

FloatArray = npt.NDArray[np.float64]


def scenario_read(scenario: Scenario, units: tuple[areas_service.District, ...]) -> ScenarioRead:
    cut = scenario.travel_cut or ()
    return ScenarioRead(
        name=scenario.name,
        screening_interval_days=scenario.screening_interval_days,
        screening_coverage=scenario.screening_coverage,
        test_sensitivity=scenario.test_sensitivity,
        isolation_delay_days=scenario.isolation_delay_days,
        mobility_cut={units[u].code: fraction for u, fraction in enumerate(cut) if fraction > 0},
        lift_after_clean_days=scenario.lift_after_clean_days,
        restriction_contact_reduction=scenario.restriction_contact_reduction,
    )


def bands_read(bands: Bands, *, column: int | None = None) -> BandsRead:
    def pick(values: FloatArray) -> list[float]:
        chosen = values if column is None else values[:, column]
        return [float(v) for v in chosen]

    return BandsRead(
        p05=pick(bands.p05),
        p25=pick(bands.p25),
        median=pick(bands.median),
        p75=pick(bands.p75),
        p95=pick(bands.p95),
    )


def spread_read(bands: Bands, index: int) -> SpreadRead:
    return SpreadRead(
        p05=float(bands.p05[index]),
        p25=float(bands.p25[index]),
        median=float(bands.median[index]),
        p75=float(bands.p75[index]),
        p95=float(bands.p95[index]),
    )
