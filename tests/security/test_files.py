"""Files the system writes and reads: rejects hold no plain national ID, name or phone and are
mode 600; every cell a spreadsheet would run as a formula is escaped; a CSV field past the csv
module's limit is a refusal naming the line, not a server error."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from tests.factories.people import building_in, next_national_id
from xietong.core.csvfiles import escape_cell, read_records
from xietong.core.errors import ValidationFailed
from xietong.core.principal import SYSTEM
from xietong.people import service
from xietong.people.protection import PersonalDataProtector

HEADER = "national_id,name,phone,residence_building,current_building\n"


@pytest.mark.parametrize("cell", ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\t=1"])
def test_cells_a_spreadsheet_would_run_are_escaped(cell: str) -> None:
    assert escape_cell(cell) == "'" + cell


def test_plain_cells_are_kept() -> None:
    assert [escape_cell(v) for v in ["abc", "12", "", None, "a=b"]] == ["abc", "12", "", "", "a=b"]


def test_a_rejects_file_is_private_and_holds_no_plain_identity(
    session: Session, protector: PersonalDataProtector, tmp_path: Path
) -> None:
    national_id = next_national_id()
    good = f"{next_national_id()},居民,13900000001,{building_in(session, '500106').code},"
    bad = f'{national_id},=HYPERLINK("http://x"),13912345678,NO-SUCH-BUILDING,'
    rejects = tmp_path / "rejects.csv"
    service.import_persons(
        session,
        principal=SYSTEM,
        protector=protector,
        stream=io.StringIO(HEADER + good + "\n" + bad + "\n"),
        load_valid=True,
        rejects_path=rejects,
    )
    assert stat.S_IMODE(rejects.stat().st_mode) == 0o600
    text = rejects.read_text(encoding="utf-8")
    assert "unknown building" in text
    assert national_id not in text and national_id[:4] in text and national_id[-4:] in text
    assert "13912345678" not in text and "HYPERLINK" not in text


def test_a_field_past_the_csv_limit_is_a_refusal_naming_the_line() -> None:
    huge = "x" * (2**17 + 10)
    stream = io.StringIO(f'a,b\n1,2\n"{huge}",3\n')
    with pytest.raises(ValidationFailed) as refused:
        list(read_records(stream, required=["a", "b"]))
    assert refused.value.errors[0].record == "line 3"
