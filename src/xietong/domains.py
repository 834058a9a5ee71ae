"""The list of domains, in dependency order, and discovery of their optional parts.

The application, the CLI and migrations assemble whatever each domain provides (`models`,
`router`, a CLI group) from this one list rather than from imports scattered over the codebase.
"""

from __future__ import annotations

import importlib
from types import ModuleType

DOMAINS: tuple[str, ...] = (
    "areas",
    "auth",
    "people",
    "policy",
    "outbox",
    "zones",
    "screening",
    "cases",
    "referrals",
    "resources",
    "analytics",
    "reports",
    "interop",
    "web",
    "twin",
)


def optional_module(name: str) -> ModuleType | None:
    """Import `name` if that module exists; a missing dependency inside it still raises."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and name.startswith(exc.name):
            return None
        raise


def domain_modules(role: str) -> list[ModuleType]:
    """Every domain's `<domain>.<role>` module that exists, in dependency order."""
    found = []
    for domain in DOMAINS:
        module = optional_module(f"xietong.{domain}.{role}")
        if module is not None:
            found.append(module)
    return found
