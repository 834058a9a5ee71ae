"""Domain errors with a machine code and a human message; the API maps them to JSON answers.

Row-level validation problems carry the record (line number or key), the field and the reason, so
that a laboratory or a data clerk can fix a file without guessing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RowError:
    """One bad field of one record."""

    record: str  # "line 17" of a file, or the record's key in a batch
    field: str
    reason: str
    value: str | None = None

    def __str__(self) -> str:
        shown = f" (got {self.value!r})" if self.value is not None else ""
        return f"{self.record}: {self.field}: {self.reason}{shown}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "record": self.record,
            "field": self.field,
            "reason": self.reason,
            "value": self.value,
        }


class DomainError(Exception):
    """Base of every error a user can cause; `code` is stable for machines."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class PermissionDenied(DomainError):
    status_code = 403
    code = "forbidden"


class NotAuthenticated(DomainError):
    status_code = 401
    code = "not_authenticated"


@dataclass
class ValidationFailed(DomainError):
    """A batch or a file was refused: every bad record is listed."""

    errors: list[RowError] = field(default_factory=list)
    summary: str = "input refused"

    def __post_init__(self) -> None:
        DomainError.__init__(
            self,
            f"{self.summary}: {len(self.errors)} problem(s); first: {self.errors[0]}"
            if self.errors
            else self.summary,
            code="validation_failed",
            details=[e.as_dict() for e in self.errors],
        )
        self.status_code = 422

    def __str__(self) -> str:
        return self.message
