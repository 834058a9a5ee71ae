"""The sharding plan against the schema: every table placed, Citus' rules checked from the
SQLAlchemy metadata, and the changes still to make exactly those listed in docs/scale-out.md."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table, UniqueConstraint

from xietong.models import metadata
from xietong.storage.scale_out import (
    BEGIN,
    COORDINATOR,
    END,
    PLACEMENT,
    REFERENCE,
    Distributed,
    render_changes,
    violations,
)

DOC = Path(__file__).resolve().parents[3] / "docs" / "scale-out.md"


def test_the_documented_changes_are_exactly_the_schemas_breaks_of_the_rules() -> None:
    text = DOC.read_text(encoding="utf-8")
    documented = text[text.index(BEGIN) : text.index(END) + len(END)]
    found = violations(metadata())
    assert not [v for v in found if v.rule == "placed"], "place every table in scale_out.PLACEMENT"
    expected = render_changes(found)
    assert documented == expected, (
        f"the schema and docs/scale-out.md disagree: put this block in the document\n{expected}"
    )


def test_every_table_of_the_plan_is_named_in_the_document() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [
        name
        for name in PLACEMENT
        if f"`{name}`" not in text and not name.startswith(("areas_", "resources_"))
    ]
    assert missing == []


def test_the_rules_catch_each_kind_of_break() -> None:
    schema = MetaData()
    Table("district", schema, Column("id", Integer, primary_key=True))
    Table(
        "person",
        schema,
        Column("id", Integer, primary_key=True),
        Column("id_hash", Integer),
        Column("district_id", ForeignKey("district.id")),
        UniqueConstraint("id_hash", name="uq_hash"),
    )
    Table(
        "case",
        schema,
        Column("id", Integer, primary_key=True),
        Column("person_id", ForeignKey("person.id"), nullable=True),
    )
    Table("tube", schema, Column("id", Integer, primary_key=True))
    Table(
        "result",
        schema,
        Column("person_id", ForeignKey("person.id"), primary_key=True),
        Column("tube_id", ForeignKey("tube.id"), primary_key=True),
    )
    Table("aggregate", schema, Column("case_id", ForeignKey("case.id"), primary_key=True))
    Table("area", schema, Column("case_id", ForeignKey("case.id"), primary_key=True))
    Table("orphan", schema, Column("id", Integer, primary_key=True))
    placement = {
        "district": REFERENCE,
        "person": Distributed("id", "person"),
        "case": Distributed("person_id", "person"),
        "tube": Distributed("id", "tube"),
        "result": Distributed("person_id", "person"),
        "aggregate": COORDINATOR,
        "area": REFERENCE,
        "gone": REFERENCE,
    }
    found = {(v.table, v.rule, v.detail) for v in violations(schema, placement)}
    assert found == {
        ("gone", "placed", "the plan places a table the schema lacks"),
        ("orphan", "placed", "not in the plan: place it"),
        ("person", "unique key", "unique uq_hash (id_hash) lacks id"),
        ("case", "distribution column", "person_id must be NOT NULL"),
        ("case", "unique key", "primary key (id) lacks person_id"),
        ("result", "foreign key", "(tube_id) → tube: groups person and tube"),
        (
            "aggregate",
            "foreign key",
            "case_id → case: the coordinator cannot check a distributed table",
        ),
        (
            "area",
            "foreign key",
            "case_id → case: a reference table may refer to reference tables only",
        ),
    }
