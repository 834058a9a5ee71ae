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


# An answer lists at most this many problems (and says how many there were): a file of a
# million bad rows is refused with a readable answer, not one larger than the file.
SHOWN_ERRORS = 1_000


@dataclass
class ValidationFailed(DomainError):
    """A batch or a file was refused: its bad records are listed, the first `SHOWN_ERRORS` of
    them, with `total` the count of all (when more were found than were kept)."""

    errors: list[RowError] = field(default_factory=list)
    summary: str = "input refused"
    total: int | None = None

    def __post_init__(self) -> None:
        total = max(self.total or 0, len(self.errors))
        shown = self.errors[:SHOWN_ERRORS]
        listed = f" (the first {len(shown):,} listed)" if total > len(shown) else ""
        DomainError.__init__(
            self,
            f"{self.summary}: {total:,} problem(s){listed}; first: {self.errors[0]}"
            if self.errors
            else self.summary,
            code="validation_failed",
            details=[e.as_dict() for e in shown],
        )
        self.total = total
        self.status_code = 422

    def __str__(self) -> str:
        return self.message


class ErrorList:
    """Problems found while reading a large input: the first `SHOWN_ERRORS` kept, all counted
    (memory stays flat however many rows are bad)."""

    def __init__(self) -> None:
        self.kept: list[RowError] = []
        self.count = 0

    def extend(self, problems: list[RowError]) -> None:
        self.count += len(problems)
        room = SHOWN_ERRORS - len(self.kept)
        if room > 0:
            self.kept.extend(problems[:room])

    def __bool__(self) -> bool:
        return self.count > 0

    def refusal(self, summary: str) -> ValidationFailed:
        return ValidationFailed(errors=self.kept, summary=summary, total=self.count)
