"""One contract for the API and the CLI: an option one has, the other has, under the same name
(the exceptions are named here and in the docs), and the same defaults."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import screening as f
from tests.factories.auth import command_user
from tests.factories.people import building_in, next_national_id
from xietong.cli.main import build
from xietong.people.protection import PersonalDataProtector

# CLI command → (method, API path, CLI-only options with the reason they have no API twin).
PAIRS = {
    ("analytics", "forecast"): ("get", "/api/analytics/forecast", {"as_json": "output format"}),
    ("analytics", "expected"): ("get", "/api/analytics/expected", {"as_json": "output format"}),
    ("screening", "coverage"): ("get", "/api/screening/coverage", {"date": "named date"}),
    ("screening", "results"): (
        "post",
        "/api/screening/results/import",
        {"file": "the upload", "rejects": "a file on the caller's machine", "batch_rows": "tuning"},
    ),
    ("screening", "tubes"): (
        "post",
        "/api/screening/tubes/import",
        {"file": "the upload", "rejects": "a file on the caller's machine", "batch_rows": "tuning"},
    ),
    ("cases", "import"): (
        "post",
        "/api/cases/line-lists/{kind}",
        {"file": "the upload", "rejects": "a file on the caller's machine"},
    ),
    ("people", "import"): (
        "post",
        "/api/people/import",
        {"file": "the upload", "rejects": "a file on the caller's machine", "workers": "tuning"},
    ),
}
# Spellings that differ only by convention (query parameters are short; options say the unit).
SAME = {"horizon": "horizon_days", "day": "date"}


def _cli_options(path: tuple[str, ...]) -> set[str]:
    command: Any = typer.main.get_command(build())
    for name in path:
        command = command.commands[name]
    return {SAME.get(p.name or "", p.name or "") for p in command.params}


def _api_parameters(app_client: TestClient, method: str, path: str) -> set[str]:
    operation = app_client.get("/api/openapi.json").json()["paths"][path][method]
    names = {p["name"] for p in operation.get("parameters", [])}
    return names


@pytest.mark.parametrize("command", sorted(PAIRS), ids="-".join)
def test_every_option_of_the_cli_is_a_parameter_of_the_api(
    app_client: TestClient, command: tuple[str, str]
) -> None:
    method, path, cli_only = PAIRS[command]
    cli = _cli_options(command) - set(cli_only)
    api = _api_parameters(app_client, method, path) | {"date"}
    assert cli - api == set(), f"the API lacks {sorted(cli - api)}"
    api_only = _api_parameters(app_client, method, path) - _cli_options(command)
    assert api_only <= {"date"}, f"the CLI lacks {sorted(api_only)}"


def test_coverage_is_of_today_when_no_day_is_named(
    app_client: TestClient, session: Session
) -> None:
    _, token = command_user(session)
    answer = app_client.get("/api/screening/coverage", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text


def test_the_api_loads_the_valid_rows_of_a_file_when_asked(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    _, token = command_user(session)
    headers = {"Authorization": f"Bearer {token}"}
    home = building_in(session, "500103").code
    persons = (
        f"national_id,name,residence_building\n{next_national_id()},甲,{home}\nbad,乙,{home}\n"
    )
    upload = {"file": ("persons.csv", persons.encode(), "text/csv")}
    refused = app_client.post("/api/people/import", files=upload, headers=headers)
    assert refused.status_code == 422
    loaded = app_client.post(
        "/api/people/import", params={"load_valid": True}, files=upload, headers=headers
    )
    assert loaded.status_code == 200, loaded.text
    assert (loaded.json()["inserted"], loaded.json()["rows_rejected"]) == (1, 1)

    site = f.make_site(session)
    (pid,) = f.import_persons(session, protector, 1)
    code = f.tube_code()
    f.register(session, f.tube(site, [pid], code=code, pool_size=1))
    results = (
        "tube_code,result,lab,reported_at\n"
        f"{code},negative,LAB-01,2022-11-15 11:00\n"
        "NO-SUCH-TUBE,negative,LAB-01,2022-11-15 11:00\n"
    )
    upload = {"file": ("results.csv", results.encode(), "text/csv")}
    refused = app_client.post("/api/screening/results/import", files=upload, headers=headers)
    assert refused.status_code == 422
    loaded = app_client.post(
        "/api/screening/results/import", params={"load_valid": True}, files=upload, headers=headers
    )
    assert loaded.status_code == 200, loaded.text
    assert (loaded.json()["results"]["applied"], loaded.json()["results"]["rows_rejected"]) == (
        1,
        1,
    )
