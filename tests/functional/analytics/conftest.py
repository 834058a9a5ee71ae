"""Fixtures of the analytics tests: the command line on a fresh database."""

from tests.functional.analytics.cli_fixtures import cli, fresh_url

__all__ = ["cli", "fresh_url"]
