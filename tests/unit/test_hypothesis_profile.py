"""The suite's Hypothesis profile: no deadline anywhere (a loaded machine must not fail a
property), and the same examples every CI run."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st


def test_the_profile_sets_no_deadline() -> None:
    assert settings.default.deadline is None


def test_ci_draws_the_same_examples_every_run() -> None:
    assert settings.default.derandomize is bool(os.environ.get("CI"))


@given(st.integers())
def test_a_property_inherits_the_profile(value: int) -> None:
    assert settings.default.deadline is None
    assert isinstance(value, int)


def test_the_ci_script_runs_the_suite_under_the_ci_profile() -> None:
    script = (Path(__file__).parents[2] / ".ci" / "run").read_text(encoding="utf-8")
    assert 'export CI="${CI:-true}"' in script
    assert script.index("export CI=") < script.index("make check")
