"""The overview as a wall display: what waits on someone and what changed this shift.

The strip's tiles are the totals of the lists they open (the same query and the same now);
the shift's figures count from the start of the shift running now, whose handover times the
policy names (`[shift] starts`). Everything is within the viewer's jurisdiction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from xietong.cases import metrics as case_metrics
from xietong.core.clock import local_day
from xietong.core.principal import Principal, Role
from xietong.policy.service import policy_in_force
from xietong.referrals.inbox import service as query_service
from xietong.referrals.inbox.service import Box
from xietong.web import wallmap
from xietong.web.data import maps
from xietong.web.i18n import Language, translate
from xietong.web.rendering import DistrictLabel
from xietong.zones import metrics as zone_metrics
from xietong.zones import service as zones_service

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


def work_strip(
    session: Session, *, principal: Principal, now: datetime, tz: str
) -> WorkStrip | None:
    """Overdue, escalated and soon-due referrals, the risk-area decisions waiting and the
    shift's changes, within the user's jurisdiction (None for the roles that do not work
    referrals)."""
    if principal.role not in STRIP_ROLES:
        return None

    def total(box: Box) -> int:
        # The same query and the same now as the list the tile opens (it counts, limit 1).
        return query_service.list_referrals(
            session, principal=principal, now=now, box=box, limit=1
        )[1]

    _, approvals = zones_service.list_areas(
        session,
        district_id=principal.district_id,
        statuses=("proposed", "lifting_proposed"),
        limit=1,
    )
    return WorkStrip(
        total("overdue"),
        total("escalated"),
        total("due_soon"),
        approvals,
        shift_changes(session, principal=principal, now=now, tz=tz),
    )


def district_map(
    session: Session,
    *,
    principal: Principal,
    labels: Mapping[int, DistrictLabel],
    lang: Language,
    surface: Mapping[str, int | None],
    day: date,
    now: datetime,
    highlight: str | None,
) -> wallmap.WallMap:
    """The wall's map: new surface infections and areas locked on `day`, and the referrals
    overdue now (for the roles that list referrals), each district labelled in `lang`."""
    codes = {district_id: label.code for district_id, label in labels.items()}
    names, short = maps.names_of(labels, lang=lang)
    locked = zone_metrics.locked_by_district(session, day=day)
    layers = [
        wallmap.Layer(
            "surface",
            translate(lang, "wall.layer_surface", day=day.isoformat()),
            {code: surface.get(code) for code in names},
        ),
        wallmap.Layer(
            "zones",
            translate(lang, "wall.layer_zones", day=day.isoformat()),
            {code: locked.get(district_id, 0) for district_id, code in codes.items()},
        ),
    ]
    if principal.role in STRIP_ROLES:
        overdue = query_service.overdue_by_district(session, principal=principal, now=now)
        layers.append(
            wallmap.Layer(
                "overdue",
                translate(lang, "wall.layer_overdue"),
                {code: overdue.get(code, 0) for code in names},
            )
        )
    return wallmap.wall_map(layers=layers, names=names, short_names=short, highlight=highlight)
