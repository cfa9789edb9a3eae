"""A console form: read (bounded), checked by the API's own input models, its errors shown
beside the fields they name."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from fastapi import Request
from pydantic import BaseModel, ValidationError

from assina.core.errors import Problem, invalid
from assina.core.http import validation_problem
from assina.core.money import MAX_AMOUNT

MAX_FORM_BYTES = 64 * 1024
MAX_FORM_FIELDS = 200

Input = TypeVar("Input", bound=BaseModel)


@dataclass(frozen=True)
class Form:
    """The fields of an urlencoded form, each with every value sent (checkboxes repeat)."""

    fields: dict[str, list[str]] = field(default_factory=dict)

    def get(self, name: str, default: str = "") -> str:
        values = self.fields.get(name)
        return values[0] if values else default

    def optional(self, name: str) -> str | None:
        """The field's text, or None when it was left empty (an API field left unsent)."""
        value = self.get(name).strip()
        return value or None

    def values(self, name: str) -> list[str]:
        return list(self.fields.get(name, []))


async def read_form(request: Request) -> Form:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise Problem(413, "payload-too-large", "The form is too large.")
    try:
        pairs = parse_qsl(
            body.decode("utf-8", errors="replace"),
            keep_blank_values=True,
            max_num_fields=MAX_FORM_FIELDS,
        )
    except ValueError:  # more fields than any form has
        raise Problem(422, "validation-error", "The form has too many fields.") from None
    fields: dict[str, list[str]] = {}
    for name, value in pairs:
        fields.setdefault(name, []).append(value)
    return Form(fields)


_AMOUNT = re.compile(r"(?:R\$\s*)?(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d{1,2}))?")


def parse_amount(text: str, field_name: str) -> int | None:
    """Money as a person types it in Brazil (`1.234,56`, `R$ 99,9`, `450`) in centavos; empty
    is None. Anything else is a 422 naming the field."""
    cleaned = text.strip()
    if not cleaned:
        return None
    match = _AMOUNT.fullmatch(cleaned)
    if match is None:
        raise invalid(field_name, "write the amount as 1.234,56")
    whole, cents = match.group(1).replace(".", ""), (match.group(2) or "0").ljust(2, "0")
    amount = int(whole) * 100 + int(cents)
    if amount > MAX_AMOUNT:
        raise invalid(field_name, "the amount is too large")
    return amount


def input_of(model: type[Input], values: dict[str, Any]) -> Input:
    """The form's values as the API's input model reads them: the same rules, the same 422."""
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise validation_problem([dict(detail) for detail in error.errors()]) from None


def field_errors(problem: Problem | None) -> dict[str, str]:
    """A 422's messages by field (the first one each), for the template to put beside them;
    a problem that names no field is shown at the top of the form instead."""
    if problem is None:
        return {}
    found: dict[str, str] = {}
    for error in problem.errors:
        found.setdefault(error.field, error.message)
    return found


def refusal(problem: Problem | None) -> dict[str, Any]:
    """What a page shows of a refusal, as `render_page`'s arguments: the problem's status and
    its detail (at the top of the form or page); no refusal, a 200 and nothing."""
    if problem is None:
        return {"status_code": 200, "problem": None}
    return {"status_code": problem.status, "problem": problem.detail}
