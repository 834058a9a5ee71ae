"""A form's validation errors in the reader's language: Pydantic's messages are English, so a
page says what is wrong by the error's type (missing, too long, not a number, not a date, not one
of the choices ...) with the field's label, and keeps Pydantic's text only for a type it does
not know. A service's refusal of a field is led by the field's label, its reason translated where
the tables know it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from pydantic import ValidationError

from xietong.core.errors import RowError
from xietong.web.i18n import Language, row_reason, translate

# Pydantic's error types (https://docs.pydantic.dev/latest/errors/validation_errors/), grouped
# by what the reader must do about them.
KINDS: Final[dict[str, str]] = {
    "missing": "missing",
    "string_too_short": "too_short",
    "too_short": "too_short",
    "string_too_long": "too_long",
    "too_long": "too_long",
    "int_parsing": "not_a_number",
    "int_type": "not_a_number",
    "float_parsing": "not_a_number",
    "float_type": "not_a_number",
    "decimal_parsing": "not_a_number",
    "int_from_float": "not_whole",
    "date_parsing": "not_a_date",
    "date_from_datetime_parsing": "not_a_date",
    "date_type": "not_a_date",
    "datetime_parsing": "not_a_time",
    "datetime_from_date_parsing": "not_a_time",
    "datetime_type": "not_a_time",
    "literal_error": "not_a_choice",
    "enum": "not_a_choice",
    "string_pattern_mismatch": "pattern",
    "greater_than": "not_above",
    "greater_than_equal": "too_small",
    "less_than": "not_below",
    "less_than_equal": "too_large",
    "bool_parsing": "not_a_choice",
    "value_error": "invalid",
}


def message(lang: Language, kind: str, label: str, context: Mapping[str, Any] | None = None) -> str:
    """The sentence for one error of `kind` on the field called `label`."""
    ctx = dict(context or {})
    if kind == "too_short" and ctx.get("min_length") in (None, 1):
        kind = "missing"  # an empty required box
    limit = ctx.get("max_length", ctx.get("min_length", ""))
    if kind in ("too_small", "too_large", "not_above", "not_below"):
        limit = ctx.get("ge", ctx.get("gt", ctx.get("le", ctx.get("lt", ""))))
    return translate(lang, f"form.{kind}", label=label, limit=limit)


def field_errors(
    exc: ValidationError,
    *,
    lang: Language,
    record: str,
    labels: Mapping[str, str],
    fields: Mapping[str, str] | None = None,
) -> list[RowError]:
    """Each error of `exc` as a RowError whose reason is a sentence in `lang`.

    `labels` maps a model field to its label on the page (already translated); `fields` maps a
    model field to the form's input name where they differ (`to_district_code` → `to_district`).
    """
    found: list[RowError] = []
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        name = loc[0] if loc else record
        label = labels.get(name, name)
        kind = KINDS.get(error["type"])
        if error["type"] == "value_error":
            # A validator's own sentence (`ValueError`): known ones are in the tables.
            said = row_reason(lang, str(error["msg"]).removeprefix("Value error, "))
            reason = translate(lang, "form.refused", label=label, reason=said) if loc else said
        elif kind is None:
            reason = translate(lang, "form.refused", label=label, reason=error["msg"])
        else:
            reason = message(lang, kind, label, error.get("ctx"))
        shown = error.get("input")
        value = shown if isinstance(shown, str) and shown else None
        found.append(RowError(record, (fields or {}).get(name, name), reason, value))
    return found


def labelled(
    errors: Sequence[RowError],
    *,
    lang: Language,
    labels: Mapping[str, str],
    fields: Mapping[str, str] | None = None,
) -> list[RowError]:
    """A service's refusals of a form's fields, each reason led by the field's label and put in
    `lang` where the tables know it (`i18n.row_reason`)."""
    return [
        RowError(
            e.record,
            (fields or {}).get(e.field, e.field),
            translate(
                lang,
                "form.refused",
                label=labels.get(e.field, e.field),
                reason=row_reason(lang, e.reason),
            ),
            e.value,
        )
        for e in errors
    ]
