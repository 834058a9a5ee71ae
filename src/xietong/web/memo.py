"""The analytics results a page needs again and again, kept while their inputs are the same.

The trend (Rt for every district) and the forecasts take from a fraction of a second to seconds,
and a command centre's screens ask for the same ones all shift long. A result is remembered
under the content of the daily series it is computed from (and the policy version in force), so
it is reused exactly as long as a fresh computation would give the same answer: a refresh of the
aggregates or an import of official counts that changes a number changes the key.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import date
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from xietong.analytics import expected as analytics_expected
from xietong.analytics import page_results
from xietong.core.kept import Kept
from xietong.mutual_aid.outlook import service as outlook_service

T = TypeVar("T")
MAX_ENTRIES = 64

_store: Kept[Any] = Kept(size=MAX_ENTRIES)


def series_fingerprint(session: Session, *, first_day: date, last_day: date) -> str:
    """A digest of the daily series over the days and of the policy in force on the last one
    (`analytics.page_results`, whose kept results are found under it too)."""
    return page_results.series_fingerprint(session, first_day=first_day, last_day=last_day)


def remembered(key: Hashable, compute: Callable[[], T]) -> T:
    """The value remembered under `key`, or `compute()`'s (errors are not remembered)."""
    value: T = _store.get_or_make(key, compute)
    return value


def forget() -> None:
    """Forget every result, the forecast's quantiles kept for the pages and the demand, and the
    demand's projections."""
    _store.clear()
    analytics_expected.forget_quantiles()
    outlook_service.forget_projections()
