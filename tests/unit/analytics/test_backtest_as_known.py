"""Backtests that read the data as they stood at each forecast date: a series whose last days
were still being reported, completed by the chain-ladder, is what every forecaster of a date
reads, and nothing recorded after the date reaches its forecast."""

from __future__ import annotations

import numpy as np

from xietong.analytics.core.backtest import run_backtest
from xietong.analytics.core.nowcast import chain_ladder
from xietong.analytics.reference_series import shanghai_2022_city

DELAY = np.array([0.4, 0.3, 0.15, 0.1, 0.05])  # share of a day's cases recorded d days later


def _recorded(seed: int, days: int = 60) -> np.ndarray:
    """Shanghai's city series spread over the delays above: (days, delays)."""
    rng = np.random.default_rng(seed)
    truth = shanghai_2022_city().counts[:days, 0].astype(np.int64)
    return np.stack([rng.multinomial(n, DELAY) for n in truth]).astype(float)


def _as_known(cells: np.ndarray, *, complete: bool):  # type: ignore[no-untyped-def]
    def known(origin: int) -> np.ndarray:
        t = np.arange(origin + 1)[:, None] + np.arange(DELAY.size)[None, :]
        triangle = np.where(t <= origin, cells[: origin + 1], np.nan)
        series = chain_ladder(triangle) if complete else np.nansum(triangle, axis=1)
        return series[:, None]

    return known


def test_reading_the_final_series_at_every_date_is_the_plain_backtest() -> None:
    series = shanghai_2022_city().counts[:60]
    origins = np.arange(30, 40)
    plain = run_backtest(series, origins=origins, rng=np.random.default_rng(2), runs=100)
    read = run_backtest(
        series,
        origins=origins,
        rng=np.random.default_rng(2),
        runs=100,
        known=lambda origin: series[: origin + 1],
    )
    np.testing.assert_allclose(read.quantiles, plain.quantiles)


def test_a_forecast_reads_nothing_recorded_after_its_date() -> None:
    cells = _recorded(1)
    later = cells.copy()
    # Cases of day 33 recorded on day 36 and after, and every day after 35: all after the
    # forecast date at index 35.
    later[33, 3:] *= 4.0
    later[36:] *= 3.0
    first, second = (
        run_backtest(
            recorded.sum(axis=1)[:, None],
            origins=np.arange(30, 40),
            rng=np.random.default_rng(3),
            runs=100,
            known=_as_known(recorded, complete=True),
        )
        for recorded in (cells, later)
    )
    np.testing.assert_array_equal(second.quantiles[:, :6], first.quantiles[:, :6])
    assert not np.array_equal(second.quantiles[:, 6:], first.quantiles[:, 6:])


def test_the_nowcast_brings_the_forecasts_nearer_than_the_incomplete_days() -> None:
    cells = _recorded(4, days=75)
    final = cells.sum(axis=1)[:, None]
    origins = np.arange(20, 60)
    scores = {}
    for complete in (False, True):
        result = run_backtest(
            final,
            origins=origins,
            rng=np.random.default_rng(5),
            runs=100,
            known=_as_known(cells, complete=complete),
        )
        scores[complete] = result.scores(log=True)["wis"][0].mean()
    assert scores[True] < scores[False]
