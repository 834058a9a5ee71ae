"""The docs answer what the system answers: every shell and HTTP example in README.md and docs/
runs, in order, against a real server on a fresh database, once per backend.

An example the test cannot run says so where a reader sees it: the line just before its block is
`_Not run by the docs test: <reason>._`. Commands in `sh`/`shell`/`bash` blocks run as written
(`console` blocks: the lines after `$ `) in one bash session per backend, so a variable set in one
block (`TOKEN=…`) serves the next; `.venv/bin/` stands for this interpreter's scripts and
`127.0.0.1:8000` for the test's server. `curl` fails on an HTTP error. An `http` block is a request
line, header lines, a blank line and a body, sent to the test's server.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import typer

from tests.conftest import BACKENDS, PG_URL, _drop_postgresql_database, _fresh_postgresql_database
from xietong.cli.main import build

ROOT = Path(__file__).resolve().parents[2]
SHELL = {"sh", "shell", "bash", "console"}
HTTP = {"http"}
NOT_RUN = re.compile(r"^_Not run by the docs test: (?P<reason>.+?)\.?_\s*$")
FENCE = re.compile(r"^(?P<fence>```+|~~~+)\s*(?P<language>[\w-]*)")
SERVER = "127.0.0.1:8000"


@dataclass(frozen=True)
class Example:
    path: Path
    line: int  # of the opening fence
    language: str
    text: str
    not_run: str | None  # the reason shown to readers, when the test does not run it

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def documents() -> list[Path]:
    """README first, then the getting-started page (it builds the data later pages use), then the
    other pages in name order."""
    first = [ROOT / "README.md", ROOT / "docs" / "getting-started.md"]
    rest = sorted(p for p in (ROOT / "docs").rglob("*.md") if p not in first)
    return [p for p in first if p.exists()] + rest


def examples_in(path: Path) -> Iterator[Example]:
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opened = FENCE.match(lines[index])
        if opened is None:
            index += 1
            continue
        fence, language = opened["fence"], opened["language"].lower()
        body: list[str] = []
        end = index + 1
        while end < len(lines) and not lines[end].startswith(fence):
            body.append(lines[end])
            end += 1
        if language in SHELL | HTTP:
            before = next((lines[k] for k in range(index - 1, -1, -1) if lines[k].strip()), "")
            marked = NOT_RUN.match(before.strip())
            yield Example(
                path=path,
                line=index + 1,
                language=language,
                text="\n".join(body),
                not_run=marked["reason"] if marked else None,
            )
        index = end + 1


def all_examples() -> list[Example]:
    return [example for path in documents() for example in examples_in(path)]


def http_as_curl(example: Example) -> str:
    """An `http` block as the curl command that sends it."""
    head, _, body = example.text.strip("\n").partition("\n\n")
    request, *headers = head.splitlines()
    method, target = request.split()[:2]
    parts = ["curl", "-X", method, f'"http://{SERVER}{target}"']
    parts += [f'-H "{h.strip()}"' for h in headers if h.strip()]
    if body.strip():
        return " ".join([*parts, "--data-binary", "@-"]) + f" <<'BODY'\n{body.strip()}\nBODY"
    return " ".join(parts)


def script(examples: list[Example], *, scripts: Path, port: int) -> str:
    """One bash session for every example, each announced on stderr so a failure names it."""
    lines = [
        "set -euo pipefail",
        # An HTTP error is a failing example, and the progress meter is noise.
        'curl() { command curl --fail-with-body -sS "$@"; }',
    ]
    for example in examples:
        if example.not_run is not None:
            continue
        if example.language in HTTP:
            text = http_as_curl(example)
        elif example.language == "console":
            text = "\n".join(
                line[2:] for line in example.text.splitlines() if line.startswith("$ ")
            )
        else:
            text = example.text
        text = text.replace(".venv/bin/", f"{scripts}/").replace(SERVER, f"127.0.0.1:{port}")
        lines += [f"echo {shlex.quote('### ' + example.where)} >&2", text, "echo >&2"]
    return "\n".join(lines) + "\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(params=BACKENDS)
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'docs.sqlite'}"
        return
    assert PG_URL is not None
    url, name = _fresh_postgresql_database(PG_URL)
    yield url
    _drop_postgresql_database(PG_URL, name)


def test_every_example_runs_or_says_why_not() -> None:
    examples = all_examples()
    assert examples, "no examples found"
    for example in examples:
        if example.not_run is not None:
            assert len(example.not_run.split()) >= 3, f"{example.where}: say why it is not run"
        else:
            assert example.text.strip(), f"{example.where}: an empty example"


def test_every_command_is_in_the_cli_reference() -> None:
    reference = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    missing = []
    stack: list[tuple[list[str], object]] = [(["xietong"], typer.main.get_command(build()))]
    while stack:
        path, command = stack.pop()
        if getattr(command, "hidden", False):
            continue
        children = getattr(command, "commands", None)
        if children:
            stack += [([*path, name], child) for name, child in children.items()]
        elif f"`{' '.join(path)}" not in reference:
            missing.append(" ".join(path))
    assert missing == [], f"docs/cli.md does not describe {sorted(missing)}"


def test_the_readme_links_the_references() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for page in ("docs/getting-started.md", "docs/cli.md", "docs/formats.md"):
        assert f"({page})" in readme, page
        assert (ROOT / page).exists(), page


@pytest.mark.slow
def test_the_examples_run_against_a_fresh_database(fresh_database: str, tmp_path: Path) -> None:
    # The examples' relative paths (docs/samples/…) resolve from a scratch folder, so that the
    # files they write (rejects, exports) land there and not in the repository.
    work = tmp_path / "work"
    work.mkdir()
    (work / "docs").symlink_to(ROOT / "docs")
    scripts = Path(sys.executable).parent
    port = free_port()
    env = {
        **os.environ,
        "XIETONG_DATABASE_URL": fresh_database,
        "XIETONG_ENVIRONMENT": "development",
        "COLUMNS": "200",
        "PATH": f"{scripts}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "xietong", "serve", "--port", str(port)],
        env=env,
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 600  # migrating on a loaded machine takes a while
        while True:  # bounded poll of a real process: it answers, exits or runs out of time
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"the server did not start: {server.communicate()[0]}")
            time.sleep(0.2)
        (work / "examples.sh").write_text(
            script(all_examples(), scripts=scripts, port=port), encoding="utf-8"
        )
        ran = subprocess.run(
            ["bash", "examples.sh"],
            cwd=work,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        server.terminate()
        server.communicate()
    if ran.returncode != 0:
        announced = [line for line in ran.stderr.splitlines() if line.startswith("### ")]
        failed = announced[-1][4:] if announced else "before the first example"
        pytest.fail(
            f"the example at {failed} failed (exit {ran.returncode}):\n"
            f"{ran.stderr[-3000:]}\n--- stdout ---\n{ran.stdout[-2000:]}"
        )
