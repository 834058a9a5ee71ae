"""Property-based fuzzing of every API operation with schemathesis, as a command-centre user and
as a district user, against the application in-process on a fresh database.

Usage: .venv/bin/python -m benchmarks.api_fuzz --examples 100 [--backend sqlite|postgresql]
       [--seed N]

`--examples` is the number of generated requests per operation and caller (half conforming to
the schema, half not). Prints, per backend: operations, cases, server errors (5xx) and answers
outside the documented statuses or content types; the first few of each are shown with the
request that caused them. The PostgreSQL URL is read from XIETONG_TEST_DATABASE_URL (a fresh
database is created and dropped).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from benchmarks.databases import drop_postgresql, fresh_postgresql

# What every answer must satisfy: no 5xx, a documented status, a documented content type, and a
# body that matches the documented schema of its status.
CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# The live stream never ends by itself: the fuzzer's client keeps what came in its first
# seconds (or its first event).
STREAM_EVENTS = 1
STREAM_SECONDS = 1.0
FINDINGS_SHOWN = int(os.environ.get("XIETONG_FUZZ_FINDINGS_SHOWN", "20"))


def fuzz_config() -> SchemathesisConfig:
    """Schemathesis configured for an in-process run: no coverage or stateful phases (the
    examples are counted per operation), no deadline and a bounded live stream."""
    return SchemathesisConfig.from_dict(
        {
            "max-stream-events": STREAM_EVENTS,
            "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
        }
    )


def _as_text(_context: Any, value: Any) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else str(value).encode("utf-8")


def load_schema(document: dict[str, Any]) -> Any:
    """Schemathesis' view of an OpenAPI document (the application's own, `app.openapi()`)."""
    # HL7 v2 messages are plain text under their own media type.
    schemathesis.serializer("x-application/hl7-v2+er7")(_as_text)
    return schemathesis.openapi.from_dict(document, config=fuzz_config())


def operations(schema: Any) -> list[Any]:
    """Every operation of the document, in its order."""
    return [result.ok() for result in schema.get_all_operations()]


def call_options(operation: Any) -> dict[str, Any]:
    """How to call `operation`: with no time limit (the application runs in-process, and a
    loaded machine makes any limit a flaky one), except a live stream, read for a moment."""
    streams = "text/event-stream" in str(operation.definition.raw.get("responses", {}))
    return {"timeout": STREAM_SECONDS if streams else None}


def cases(operation: Any) -> Any:
    """Requests for `operation`: as often conforming to the document as not."""
    return st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )


@dataclass
class Finding:
    operation: str
    caller: str
    status: int
    problem: str
    request: str


@dataclass
class Figures:
    operations: int = 0
    cases: int = 0
    server_errors: int = 0
    nonconforming: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)


def fuzz(
    app: Any,
    *,
    callers: Callable[[], dict[str, str]],
    examples: int,
    seed_value: int = 0,
) -> Figures:
    """Send `examples` generated requests per operation and caller. `callers` gives a live bearer
    token by caller name before each operation (a fuzzed request may have revoked the last)."""
    figures = Figures()
    for operation in operations(load_schema(app.openapi())):
        figures.operations += 1
        for caller, token in callers().items():
            _run_operation(
                app,
                operation,
                caller=caller,
                token=token,
                examples=examples,
                seed_value=seed_value,
                figures=figures,
            )
    return figures


def _run_operation(
    app: Any,
    operation: Any,
    *,
    caller: str,
    token: str,
    examples: int,
    seed_value: int,
    figures: Figures,
) -> None:
    headers = {"Authorization": f"Bearer {token}"}

    @seed(seed_value)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases(operation))
    def run(case: Any) -> None:
        figures.cases += 1
        try:
            response = case.call(app=app, headers=headers, **call_options(operation))
        except Exception as crash:  # in-process, an unhandled error reaches the caller
            figures.server_errors += 1
            figures.findings.append(
                Finding(
                    operation=operation.label,
                    caller=caller,
                    status=500,
                    problem=f"{type(crash).__name__}: {crash}"[:1000],
                    request=case.as_curl_command(headers=headers)[:600],
                )
            )
            return
        figures.statuses[response.status_code] += 1
        if response.status_code >= 500:
            figures.server_errors += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Failure, FailureGroup) as raised:
            failures = raised.exceptions if isinstance(raised, FailureGroup) else (raised,)
            if response.status_code < 500:
                figures.nonconforming += 1
            figures.findings.append(
                Finding(
                    operation=operation.label,
                    caller=caller,
                    status=response.status_code,
                    problem="; ".join(f"{f.title}: {f.message}" for f in failures)[:1000],
                    request=case.as_curl_command(headers=headers)[:600],
                )
            )

    run()


FUZZ_DISTRICT = "500106"


def _prepare(url: str) -> tuple[Any, Callable[[], dict[str, str]]]:
    from datetime import UTC, datetime

    from xietong.api.app import create_app
    from xietong.areas import service as areas_service
    from xietong.auth import service as auth_service
    from xietong.auth.schemas import UserCreate
    from xietong.bootstrap import prepare_database
    from xietong.config import Settings
    from xietong.core.principal import Role
    from xietong.core.wallclock import SystemClock
    from xietong.storage.engine import build_engine, session_factory
    from xietong.storage.unit_of_work import unit_of_work

    engine = build_engine(url)
    prepare_database(engine)
    sessions = session_factory(engine)
    users = {"command": "fuzz-command", "district": "fuzz-district"}
    with unit_of_work(sessions, clock=SystemClock()) as session:
        codes = [d.code for d in areas_service.list_districts(session)]
        areas_service.generate_synthetic_areas(
            session,
            buildings_per_district=dict.fromkeys(codes, 6),
            seed=1,
            buildings_per_community=3,
        )
        for caller, role, district in (
            ("command", Role.command, None),
            ("district", Role.district_coordinator, FUZZ_DISTRICT),
        ):
            auth_service.create_user(
                session,
                user_in=UserCreate(username=users[caller], role=role, district_code=district),
                district_id=areas_service.district_id_of(session, code=district),
                now=datetime.now(UTC),
            )

    def fresh_tokens() -> dict[str, str]:
        # Fuzzed requests revoke tokens and deactivate users by the ids and names they guess.
        with unit_of_work(sessions, clock=SystemClock()) as session:
            tokens = {}
            for caller, username in users.items():
                user = auth_service.reactivate_user(session, username=username)
                tokens[caller] = auth_service.issue_token(session, user=user)
            return tokens

    app = create_app(Settings(database_url=url, run_workers=False), engine=engine)
    return app, fresh_tokens


def run_backend(url: str, *, examples: int, seed_value: int) -> dict[str, Any]:
    app, callers = _prepare(url)
    started = time.perf_counter()
    figures = fuzz(app, callers=callers, examples=examples, seed_value=seed_value)
    app.state.engine.dispose()
    return {
        "operations": figures.operations,
        "cases": figures.cases,
        "server_errors": figures.server_errors,
        "nonconforming": figures.nonconforming,
        "statuses": dict(sorted(figures.statuses.items())),
        "seconds": round(time.perf_counter() - started, 1),
        "findings": figures.findings,
    }


def _print(backend: str, figures: dict[str, Any], out: Callable[[str], None]) -> None:
    out(
        f"{backend}: {figures['operations']} operations, {figures['cases']} cases, "
        f"{figures['server_errors']} server errors, {figures['nonconforming']} nonconforming "
        f"answers in {figures['seconds']} s; statuses {figures['statuses']}"
    )
    for finding in figures["findings"][:FINDINGS_SHOWN]:
        out(
            f"  {finding.operation} as {finding.caller}: {finding.status}\n"
            f"    {finding.problem}\n    {finding.request}"
        )


def main(argv: list[str] | None = None) -> dict[str, dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--examples", type=int, default=50, help="requests per operation and caller"
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], action="append")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    backends = args.backend or ["sqlite"]
    results: dict[str, dict[str, Any]] = {}
    for backend in backends:
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as directory:
                url = f"sqlite:///{Path(directory) / 'fuzz.sqlite'}"
                results[backend] = run_backend(url, examples=args.examples, seed_value=args.seed)
        else:
            admin = os.environ["XIETONG_TEST_DATABASE_URL"]
            url, name = fresh_postgresql(admin, prefix="xietong_fuzz")
            try:
                results[backend] = run_backend(url, examples=args.examples, seed_value=args.seed)
            finally:
                drop_postgresql(admin, name)
        _print(backend, results[backend], print)
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
