"""Where each table goes on a distributed PostgreSQL (Citus), and the rules the schema must keep.

`PLACEMENT` places every table: a reference table (copied to every node), a table distributed by
a column within a co-location group, or a table left on the coordinator. `violations()` checks
the SQLAlchemy metadata against Citus' rules; docs/scale-out.md holds the plan and, between its
markers, the changes still to make (`render_changes`; the test prints the block when the two
disagree).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Index, MetaData, Table, UniqueConstraint


@dataclass(frozen=True)
class Reference:
    """Small, read by every shard's joins, written rarely: a full copy on each node."""

    kind: Literal["reference"] = "reference"


@dataclass(frozen=True)
class Distributed:
    """Sharded by the hash of `column`; tables of one `group` have their shards side by side."""

    column: str
    group: str
    kind: Literal["distributed"] = "distributed"


@dataclass(frozen=True)
class Coordinator:
    """Stays on the coordinator (a Citus local table): low volume, read and written in one place."""

    kind: Literal["coordinator"] = "coordinator"


Placement = Reference | Distributed | Coordinator

REFERENCE = Reference()
COORDINATOR = Coordinator()


def by_person(column: str = "person_id") -> Distributed:
    return Distributed(column=column, group="person")


def by_tube(column: str = "tube_id") -> Distributed:
    return Distributed(column=column, group="tube")


PLACEMENT: dict[str, Placement] = {
    # The city's map and the rules: every query joins them, they change by the day at most.
    "areas_district": REFERENCE,
    "areas_district_distance": REFERENCE,
    "areas_street": REFERENCE,
    "areas_community": REFERENCE,
    "areas_building": REFERENCE,
    "policy_adopted": REFERENCE,
    "auth_user": REFERENCE,
    "auth_api_token": REFERENCE,
    "outbox_webhook_endpoint": REFERENCE,
    "resources_facility": REFERENCE,
    "resources_laboratory": REFERENCE,
    "screening_site": REFERENCE,
    "screening_plan": REFERENCE,
    "cases_cluster": REFERENCE,
    "twin_run": REFERENCE,
    # Persons and everything that belongs to one person: one shard holds a person's whole story.
    "people_person": by_person("id"),
    "people_access_grant": by_person(),
    "screening_membership": by_person(),
    "screening_hold": by_person(),
    "screening_retest_task": by_person(),
    "screening_case_candidate": by_person(),
    "screening_referral_need": by_person(),
    "cases_case": by_person(),
    "cases_close_contact": by_person(),
    "cases_quarantine_order": by_person(),
    "cases_contact_referral_need": by_person(),
    "cases_cluster_member": by_person(),
    "cases_place": by_person(),
    "cases_transmission_link": by_person(),
    "referrals_referral": by_person(),
    "referrals_event": by_person(),
    "referrals_handoff": by_person(),
    "zones_building_infection": by_person(),
    "twin_person": by_person(),
    "twin_infection": by_person(),
    # A tube and its results: the laboratory's path, keyed by the tube.
    "screening_tube": by_tube("id"),
    "screening_lab_result": by_tube(),
    "screening_resample_task": by_tube(),
    "screening_result_conflict": by_tube(),
    # Every read and change of personal data: append-only, the largest table after memberships.
    "auth_audit": Distributed(column="id", group="audit"),
    # Per district and day, or per command-centre decision: thousands of rows, one writer.
    "analytics_daily_aggregate": COORDINATOR,
    "analytics_official_count": COORDINATOR,
    "analytics_official_count_version": COORDINATOR,
    "analytics_page_result": COORDINATOR,
    "analytics_refresh_watermark": COORDINATOR,
    "outbox_message": COORDINATOR,
    "interop_export_job": COORDINATOR,
    "outbox_delivery": COORDINATOR,
    "resources_capacity_report": COORDINATOR,
    "resources_help_offer": COORDINATOR,
    "resources_help_request": COORDINATOR,
    "resources_plan": COORDINATOR,
    "resources_plan_cell": COORDINATOR,
    "resources_plan_transfer": COORDINATOR,
    "resources_transfer_order": COORDINATOR,
    "screening_planned_building": COORDINATOR,
    "screening_result_batch": COORDINATOR,
    "zones_risk_area": COORDINATOR,
    "zones_risk_area_event": COORDINATOR,
    "twin_step": COORDINATOR,
    # Small tables of the screens and accounts: the official city rows, login throttling, link
    # proposals between districts, the duplicate persons' queue, a batch's kept rejects, form keys
    # and unread marks.
    "analytics_official_city_count": COORDINATOR,
    "auth_login_failure": COORDINATOR,
    "cases_link_proposal": COORDINATOR,
    "people_duplicate_pair": COORDINATOR,
    "screening_result_batch_rejects": COORDINATOR,
    "web_form_submission": COORDINATOR,
    "web_seen_mark": COORDINATOR,
}


@dataclass(frozen=True, order=True)
class Violation:
    """One place where the schema breaks a rule of its table's placement."""

    table: str
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.table}: {self.rule}: {self.detail}"


def _unique_keys(table: Table) -> Iterator[tuple[str, list[str]]]:
    yield "primary key", [c.name for c in table.primary_key.columns]
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint):
            yield f"unique {constraint.name}", [c.name for c in constraint.columns]
    for index in table.indexes:
        if isinstance(index, Index) and index.unique:
            yield f"unique index {index.name}", [c.name for c in index.columns]


def violations(metadata: MetaData, placement: dict[str, Placement] = PLACEMENT) -> list[Violation]:
    """Every break of Citus' rules by the schema in `metadata` under `placement`.

    Rules: every table is placed; a distributed table has its distribution column, NOT NULL, and
    every primary key and unique constraint includes it; a foreign key from a distributed table
    goes to a reference table, or to a table of the same group through both distribution
    columns; a reference table refers to reference tables only; a coordinator table refers to no
    distributed table.
    """
    found: list[Violation] = []
    for name in sorted(set(placement) - set(metadata.tables)):
        found.append(Violation(name, "placed", "the plan places a table the schema lacks"))
    for name, table in sorted(metadata.tables.items()):
        place = placement.get(name)
        if place is None:
            found.append(Violation(name, "placed", "not in the plan: place it"))
            continue
        if isinstance(place, Distributed):
            found.extend(_distributed(table, place))
        for fk in sorted(table.foreign_keys, key=lambda fk: (fk.parent.name, fk.target_fullname)):
            target = fk.column.table.name
            target_place = placement.get(target)
            if isinstance(target_place, Reference) or target_place is None:
                continue
            if isinstance(place, Reference):
                found.append(
                    Violation(
                        name,
                        "foreign key",
                        f"{fk.parent.name} → {target}: a reference "
                        f"table may refer to reference tables only",
                    )
                )
            elif isinstance(place, Coordinator) and isinstance(target_place, Distributed):
                found.append(
                    Violation(
                        name,
                        "foreign key",
                        f"{fk.parent.name} → {target}: the "
                        f"coordinator cannot check a distributed table",
                    )
                )
            elif isinstance(place, Distributed):
                found.extend(_co_located(table, place, fk.constraint, target, target_place))
    return found


def _distributed(table: Table, place: Distributed) -> Iterator[Violation]:
    column = table.c.get(place.column)
    if column is None:
        yield Violation(table.name, "distribution column", f"add {place.column}")
        return
    if column.nullable:
        yield Violation(table.name, "distribution column", f"{place.column} must be NOT NULL")
    for label, columns in _unique_keys(table):
        if place.column not in columns:
            yield Violation(
                table.name, "unique key", f"{label} ({', '.join(columns)}) lacks {place.column}"
            )


def _co_located(
    table: Table, place: Distributed, constraint: object, target: str, target_place: Placement
) -> Iterator[Violation]:
    from sqlalchemy import ForeignKeyConstraint

    assert isinstance(constraint, ForeignKeyConstraint)
    local = [c.name for c in constraint.columns]
    label = f"({', '.join(local)}) → {target}"
    if isinstance(target_place, Coordinator):
        yield Violation(table.name, "foreign key", f"{label}: target stays on the coordinator")
        return
    assert isinstance(target_place, Distributed)
    if target_place.group != place.group:
        yield Violation(
            table.name, "foreign key", f"{label}: groups {place.group} and {target_place.group}"
        )
        return
    pairs = {(e.parent.name, e.column.name) for e in constraint.elements}
    if (place.column, target_place.column) not in pairs:
        yield Violation(
            table.name,
            "foreign key",
            f"{label}: must go through {place.column} → {target}.{target_place.column}",
        )


BEGIN = "<!-- schema changes: begin -->"
END = "<!-- schema changes: end -->"


def render_changes(found: list[Violation]) -> str:
    """The block of docs/scale-out.md that lists the changes still to make."""
    lines = [BEGIN, "", "| table | rule | change |", "|---|---|---|"]
    lines += [f"| `{v.table}` | {v.rule} | {v.detail} |" for v in sorted(found)]
    return "\n".join([*lines, "", END])
