"""`xietong people duplicates` on a fresh database of each backend: find, list, dismiss, merge."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.cli.test_cli import cli, fresh_url  # noqa: F401 (fixtures)
from xietong.cli import context
from xietong.cli.main import build
from xietong.people.models import DuplicatePair
from xietong.people.synthetic import synthetic_national_id

BUILDING = "500106-S001-C01-B0001"


def test_find_list_dismiss_and_merge(cli: CliRunner, tmp_path: Path) -> None:  # noqa: F811
    assert cli.invoke(build(), ["db", "upgrade"]).exit_code == 0
    cli.invoke(build(), ["areas", "generate", "--buildings", "2"])
    born, other = date(1960, 2, 3), date(1961, 4, 5)
    rows = [
        (synthetic_national_id(serial=1, birth=born), "韩梅", "13700000001"),
        (synthetic_national_id(serial=2, birth=born), "韩 梅", ""),
        (synthetic_national_id(serial=3, birth=other), "李雷", "13700000009"),
        (synthetic_national_id(serial=4, birth=other), "李磊", "+86-137-0000-0009"),
    ]
    persons = tmp_path / "persons.csv"
    persons.write_text(
        "national_id,name,phone,residence_building\n"
        + "".join(f"{n},{name},{phone},{BUILDING}\n" for n, name, phone in rows),
        encoding="utf-8",
    )
    assert cli.invoke(build(), ["people", "import", str(persons)]).exit_code == 0

    found = cli.invoke(build(), ["people", "duplicates", "find"])
    assert found.exit_code == 0, found.output
    assert json.loads(found.output) == {"proposed": 2, "open": 2}
    listed = cli.invoke(build(), ["people", "duplicates", "list"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    assert "2 pairs (open)" in listed.output
    assert "name_birth" in listed.output and "phone_birth" in listed.output

    with Session(context.engine()) as session:
        pairs = {
            p.reason: (str(p.id), p.first_person_id, p.second_person_id)
            for p in session.scalars(select(DuplicatePair))
        }
    named, phoned = pairs["name_birth"][0], pairs["phone_birth"]
    dismissed = cli.invoke(build(), ["people", "duplicates", "dismiss", named, "--note", "sisters"])
    assert dismissed.exit_code == 0, dismissed.output
    again = cli.invoke(build(), ["people", "duplicates", "find"])
    assert json.loads(again.output) == {"proposed": 0, "open": 1}

    pair, first, second = phoned
    bad = cli.invoke(build(), ["people", "duplicates", "merge", pair, "--survivor", "99"])
    assert bad.exit_code == 2
    assert "survivor_id" in bad.output and "must be one of the pair's persons" in bad.output
    merge = ["people", "duplicates", "merge", pair, "--survivor", str(first)]
    merged = cli.invoke(build(), merge)
    assert merged.exit_code == 0, merged.output
    assert json.loads(merged.output)["merged_id"] == second
    gone = cli.invoke(build(), merge)
    assert gone.exit_code == 2 and "pair_not_open" in gone.output
