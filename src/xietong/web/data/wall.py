"""The overview as a wall display: what waits on someone and what changed this shift.

The strip's tiles are the totals of the lists they open (the same query and the same now);
the shift's figures count from the start of the shift running now, whose handover times the
policy names (`[shift] starts`). Everything is within the viewer's jurisdiction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from xietong.cases import metrics as case_metrics
from xietong.core.clock import local_day
from xietong.core.principal import Principal, Role
from xietong.policy.service import policy_in_force
from xietong.referrals.inbox import service as query_service
from xietong.web import wallmap
from xietong.web.data import maps
from xietong.web.i18n import Language, translate
from xietong.web.rendering import DistrictLabel
from xietong.zones import metrics as zone_metrics

# The roles that work referrals see the strip of what waits (the others may not list them).
STRIP_ROLES = (Role.command, Role.district_coordinator, Role.field_worker)


@dataclass(frozen=True)
class ShiftChanges:
    """What changed since the shift began: a handover's summary."""

    began_at: datetime
    new_cases: int
    answered: int
    locked: int
    lifted: int


@dataclass(frozen=True)
class WorkStrip:
    """What waits on someone, for the wall: the totals of the lists each tile links to, and
    what changed this shift."""

    overdue: int
    escalated: int
    due_soon: int
    approvals: int
    shift: ShiftChanges


def shift_changes(
    session: Session, *, principal: Principal, now: datetime, tz: str
) -> ShiftChanges:
    """New cases recorded, referrals answered, areas locked and lifted since the shift began."""
    rules = policy_in_force(session, day=local_day(now, tz))
    began = rules.shift.start_of_shift(now, tz)
    steps = zone_metrics.steps_between(
        session, district_id=principal.district_id, since=began, until=now
    )
    return ShiftChanges(
        began_at=began,
        new_cases=case_metrics.recorded_between(
            session, principal=principal, since=began, until=now
        ),
        answered=query_service.answered_between(
            session, principal=principal, since=began, until=now
        ),
        locked=steps["locked"],
        lifted=steps["lifted"],
    )


@dataclass(frozen=True)
class WallReads:
    """What a view of the overview reads once for its strip and its map: the risk areas by
    district, and the referrals waiting by pair of districts (None for the roles that do not
    list referrals). Each tile read its list and counted it, and the map read them again: in a
    city of ten million, tens of milliseconds each time, for the same rows."""

    areas: dict[int, zone_metrics.DistrictAreas]
    referrals: list[query_service.WaitingPair] | None


def wall_reads(
    session: Session, *, principal: Principal, day: date | None, now: datetime
) -> WallReads:
    """The areas locked on `day` (the map's; none without a day) and awaiting a decision now,
    and the referrals the principal may see overdue, escalated and due within the hour."""
    referrals = None
    if principal.role in STRIP_ROLES:
        referrals = query_service.waiting_by_pair(session, principal=principal, now=now)
    return WallReads(zone_metrics.wall_areas(session, day=day), referrals)


def work_strip(
    session: Session, *, principal: Principal, now: datetime, tz: str, reads: WallReads
) -> WorkStrip | None:
    """Overdue, escalated and soon-due referrals, the risk-area decisions waiting and the
    shift's changes, within the user's jurisdiction (None for the roles that do not work
    referrals). Each tile is the total of the list it opens: the same clauses and the same now,
    counted by pair of districts (`reads`)."""
    if principal.role not in STRIP_ROLES or reads.referrals is None:
        return None
    pairs = reads.referrals
    own = principal.district_id
    return WorkStrip(
        sum(p.overdue for p in pairs),
        sum(p.escalated for p in pairs),
        sum(p.due_soon for p in pairs),
        sum(a.awaiting for district, a in reads.areas.items() if own in (None, district)),
        shift_changes(session, principal=principal, now=now, tz=tz),
    )


def district_map(
    *,
    principal: Principal,
    labels: Mapping[int, DistrictLabel],
    lang: Language,
    surface: Mapping[str, int | None],
    day: date,
    highlight: str | None,
    reads: WallReads,
) -> wallmap.WallMap:
    """The wall's map: new surface infections and areas locked on `day` (`reads`, read for it),
    and the referrals overdue now (for the roles that list referrals), each district labelled
    in `lang`."""
    codes = {district_id: label.code for district_id, label in labels.items()}
    names, short = maps.names_of(labels, lang=lang)
    layers = [
        wallmap.Layer(
            "surface",
            translate(lang, "wall.layer_surface", day=day.isoformat()),
            {code: surface.get(code) for code in names},
        ),
        wallmap.Layer(
            "zones",
            translate(lang, "wall.layer_zones", day=day.isoformat()),
            {
                code: reads.areas[district_id].locked if district_id in reads.areas else 0
                for district_id, code in codes.items()
            },
        ),
    ]
    if principal.role in STRIP_ROLES and reads.referrals is not None:
        overdue: Counter[str] = Counter()
        for pair in reads.referrals:
            overdue[pair.to_code] += pair.overdue
        layers.append(
            wallmap.Layer(
                "overdue",
                translate(lang, "wall.layer_overdue"),
                {code: overdue.get(code, 0) for code in names},
            )
        )
    return wallmap.wall_map(layers=layers, names=names, short_names=short, highlight=highlight)
