"""RFC 9457 problem details: the one shape of every error the API returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel

PROBLEM_CONTENT_TYPE = "application/problem+json"
_TYPE_BASE = "urn:assina:problem:"


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


@dataclass
class Problem(Exception):
    """An error the API answers as problem+json. Services raise the subclasses below."""

    status: int
    slug: str
    detail: str
    title: str = ""
    errors: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.detail)
        if not self.title:
            self.title = HTTPStatus(self.status).phrase

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"{_TYPE_BASE}{self.slug}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            body["errors"] = [{"field": e.field, "message": e.message} for e in self.errors]
        return body


def not_found(resource: str, resource_id: str) -> Problem:
    return Problem(404, "not-found", f"No {resource} with id {resource_id!r}.", "Not Found")


def conflict(detail: str, slug: str = "conflict") -> Problem:
    return Problem(409, slug, detail, "Conflict")


def invalid(field_name: str, message: str) -> Problem:
    return Problem(
        422,
        "validation-error",
        f"{field_name}: {message}",
        "Unprocessable Content",
        errors=[FieldError(field_name, message)],
    )


class FieldErrorOut(BaseModel):
    field: str
    message: str


class ProblemOut(BaseModel):
    """The problem+json body, for the OpenAPI document."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldErrorOut] | None = None
