"""Form text turned into the values the API's input models expect: a typed number or date
becomes the int or date, anything else is passed on as typed so that the model refuses it
with its own message (a 422 naming the field)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import TypeVar

Choice = TypeVar("Choice", bound=StrEnum)


def whole_number(text: str) -> int | str | None:
    """`12` → 12; empty → None (the field left unsent); `doze` → "doze" (the model's 422)."""
    cleaned = text.strip()
    if not cleaned:
        return None
    if cleaned.isascii() and cleaned.lstrip("-").isdigit() and len(cleaned) <= 12:
        return int(cleaned)
    return cleaned


def decimal_text(text: str) -> str:
    """A decimal as a person in Brazil types it (`2,5`) as the API reads it (`2.5`)."""
    return text.strip().replace(",", ".")


def calendar_day(text: str) -> date | str | None:
    """An `<input type=date>`'s `2026-01-15` → the date; empty → None; else as typed."""
    cleaned = text.strip()
    if not cleaned:
        return None
    try:
        return date.fromisoformat(cleaned)
    except ValueError:
        return cleaned


def filter_day(text: str) -> date | None:
    """A list's date filter: a filter typed wrong is a filter not applied."""
    found = calendar_day(text)
    return found if isinstance(found, date) else None


def chosen(value: str, choices: type[Choice]) -> Choice | None:
    """A list's filter by one of an enum's values (`?status=open`): any other text is no
    filter, as a filter typed wrong is."""
    return choices(value) if value in set(choices) else None


@dataclass(frozen=True)
class DueRange:
    """A list's due-date filter, `from` and `to` both included as a person means them."""

    first: date | None
    last: date | None

    @classmethod
    def typed(cls, due_from: str, due_to: str) -> DueRange:
        return cls(filter_day(due_from), filter_day(due_to))

    @property
    def before(self) -> date | None:
        """The exclusive end the services' `due_lt` takes."""
        return self.last + timedelta(days=1) if self.last else None

    @property
    def shown(self) -> tuple[str, str]:
        """The filter as the page's two fields show it (what was typed wrong shows empty)."""
        return (
            self.first.isoformat() if self.first else "",
            self.last.isoformat() if self.last else "",
        )
