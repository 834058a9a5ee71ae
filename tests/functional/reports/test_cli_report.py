"""`xietong report bulletin` (and `xietong reports bulletin`) prints the official text."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tests.factories.analytics import official_csv, reference_14_nov_rows
from xietong.cli.main import build


def test_the_reference_bulletin_from_the_command_line(cli: CliRunner, tmp_path: Path) -> None:
    counts = tmp_path / "14-nov-0-18h.csv"
    counts.write_text(official_csv(reference_14_nov_rows()), encoding="utf-8")
    cli.invoke(build(), ["analytics", "import-official", str(counts)])
    period = ["--date", "2022-11-14", "--until", "18:00"]

    singular = cli.invoke(build(), ["report", "bulletin", *period], env={"COLUMNS": "400"})
    plural = cli.invoke(build(), ["reports", "bulletin", *period], env={"COLUMNS": "400"})
    english = cli.invoke(
        build(), ["report", "bulletin", *period, "--lang", "en"], env={"COLUMNS": "400"}
    )

    assert singular.exit_code == 0, singular.output
    lines = singular.output.splitlines()
    assert lines[0] == "2022年11月14日0—18时，重庆市新增本土确诊病例97例，无新增本土无症状感染者。"
    assert lines[1].startswith("新增本土确诊病例中，沙坪坝区27例，垫江县18例，")
    assert plural.output == singular.output
    assert english.output.startswith("From 00:00 to 18:00 on 14 November 2022, Chongqing")


def test_a_day_without_counts_is_an_error_not_an_empty_bulletin(cli: CliRunner) -> None:
    result = cli.invoke(build(), ["report", "bulletin", "--date", "2022-11-14"])

    assert result.exit_code == 2
    assert "no counts for 2022-11-14" in result.output
