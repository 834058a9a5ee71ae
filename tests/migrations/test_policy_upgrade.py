"""A database whose policies were adopted before a required section existed still reads them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from tests.conftest import BACKENDS, own_postgresql_database
from xietong.policy import service as policy_service
from xietong.policy.models import AdoptedPolicy
from xietong.storage.engine import build_engine
from xietong.storage.migrate import alembic_config, upgrade


@pytest.fixture(params=BACKENDS)
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = build_engine(f"sqlite:///{tmp_path / 'upgrade.sqlite'}")
        yield engine
        engine.dispose()
        return
    with own_postgresql_database() as url:
        engine = build_engine(url)
        yield engine
        engine.dispose()


def _policy_before_mutual_aid() -> str:
    """The bundled default as a file written before `[mutual_aid]` existed."""
    text = resources.files("xietong.policy").joinpath("default.toml").read_text(encoding="utf-8")
    text = re.sub(r"\n\[mutual_aid\][^\[]*$", "\n", text)
    text = re.sub(r'(?m)^version = "[^"]*"', 'version = "adopted-2022-11-12"', text)
    return re.sub(r"(?m)^effective_from = \S+", "effective_from = 2022-11-12", text)


def test_a_policy_adopted_before_the_mutual_aid_section_loads_after_the_upgrade(
    empty_engine: Engine,
) -> None:
    upgrade(empty_engine, "0001_foundation")
    old_text = _policy_before_mutual_aid()
    assert "[mutual_aid]" not in old_text
    with empty_engine.begin() as connection:
        connection.execute(
            insert(AdoptedPolicy.__table__).values(  # type: ignore[arg-type]
                version="adopted-2022-11-12",
                effective_from=date(2022, 11, 12),
                name="adopted before the section",
                source_text=old_text,
                adopted_at=datetime(2022, 11, 12, 8, tzinfo=UTC),
                adopted_by="command",
            )
        )

    upgrade(empty_engine)

    with Session(empty_engine) as session:
        rules = policy_service.policy_in_force(session, day=date(2022, 11, 20))
        stored = session.scalar(select(AdoptedPolicy.source_text))
    assert rules.version == "adopted-2022-11-12"
    assert rules.mutual_aid.demand_quantile == 0.75
    assert stored is not None and stored.startswith(old_text.rstrip("\n"))
    assert "Added when the database was upgraded" in stored


def _policy_before_shift() -> str:
    """The bundled default as a file written before `[shift]` existed."""
    text = resources.files("xietong.policy").joinpath("default.toml").read_text(encoding="utf-8")
    text = re.sub(r"\n\[shift\][^\n]*\nstarts = [^\n]*\n", "\n", text)
    text = re.sub(r'(?m)^version = "[^"]*"', 'version = "adopted-2022-11-14"', text)
    return re.sub(r"(?m)^effective_from = \S+", "effective_from = 2022-11-14", text)


def test_a_policy_adopted_before_the_shift_section_loads_after_the_upgrade_and_back(
    empty_engine: Engine,
) -> None:
    upgrade(empty_engine, "0090_policy_mutual_aid")
    old_text = _policy_before_shift()
    assert "[shift]" not in old_text and "[mutual_aid]" in old_text
    with empty_engine.begin() as connection:
        connection.execute(
            insert(AdoptedPolicy.__table__).values(  # type: ignore[arg-type]
                version="adopted-2022-11-14",
                effective_from=date(2022, 11, 14),
                name="adopted before the section",
                source_text=old_text,
                adopted_at=datetime(2022, 11, 14, 8, tzinfo=UTC),
                adopted_by="command",
            )
        )

    upgrade(empty_engine)

    with Session(empty_engine) as session:
        rules = policy_service.policy_in_force(session, day=date(2022, 11, 20))
        stored = session.scalar(select(AdoptedPolicy.source_text))
    assert rules.version == "adopted-2022-11-14"
    assert rules.shift.starts == ("08:00", "20:00")
    assert stored is not None and stored.startswith(old_text.rstrip("\n"))

    with empty_engine.begin() as connection:
        config = alembic_config(empty_engine)
        config.attributes["connection"] = connection
        command.downgrade(config, "0120_policy_shift-1")
    with Session(empty_engine) as session:
        assert session.scalar(select(AdoptedPolicy.source_text)) == old_text.rstrip("\n") + "\n"
