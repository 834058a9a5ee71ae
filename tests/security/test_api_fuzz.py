"""Every operation of the API, fuzzed from its own OpenAPI document (schemathesis, in-process,
both backends): whatever a command-centre user or a district user sends, conforming to the
document or not, the answer is never a server error and its status, content type and body are
the ones the document gives. The long run is `benchmarks/api_fuzz.py`."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from benchmarks import api_fuzz
from tests.factories.auth import command_user, district_user
from tests.factories.cases import make_case
from xietong.api.app import create_app
from xietong.config import Settings
from xietong.people.protection import PersonalDataProtector

DISTRICT = "500106"
# The document does not depend on the database: read once, from an application never started.
SCHEMA = api_fuzz.load_schema(
    create_app(Settings(database_url="sqlite://", run_workers=False)).openapi()
)


@pytest.fixture
def callers(session: Session, protector: PersonalDataProtector) -> dict[str, dict[str, str]]:
    # A case in the district gives the lists something to answer with.
    make_case(session, protector, district_code=DISTRICT)
    _, command = command_user(session)
    _, district = district_user(session, DISTRICT)
    return {
        "command centre": {"Authorization": f"Bearer {command}"},
        "district": {"Authorization": f"Bearer {district}"},
    }


@pytest.mark.parametrize("operation", api_fuzz.operations(SCHEMA), ids=lambda o: o.label)
@settings(
    max_examples=3,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
def test_no_operation_answers_a_server_error_or_outside_its_document(
    operation: Any,
    data: st.DataObject,
    app_client: TestClient,
    callers: dict[str, dict[str, str]],
) -> None:
    case = data.draw(api_fuzz.cases(operation))
    for headers in callers.values():
        response = case.call(
            app=app_client.app, headers=headers, **api_fuzz.call_options(operation)
        )
        case.validate_response(response, checks=api_fuzz.CHECKS, headers=headers)
