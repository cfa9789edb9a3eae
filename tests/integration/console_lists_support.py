"""Support for the console's list pages' tests (products, contracts, orders, expenses,
fiscal invoices): what the API says happened, and the form a page drew."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.assertions import answered
from tests.conftest import TenantClient
from tests.integration.console_support import ConsoleBrowser, idempotency_key_of


async def events_of(api: TenantClient, event_type: str) -> list[dict[str, Any]]:
    """The tenant's events of one type, oldest first, as GET /v1/events lists them."""
    body = answered(await api.get("/v1/events", params={"type": event_type, "limit": 100}))
    return list(body["data"])


async def submit_drawn(
    browser: ConsoleBrowser, page_path: str, action: str, form: dict[str, str]
) -> httpx.Response:
    """POST `form` to `action` with the idempotency key of the form `page_path` drew."""
    page = await browser.page(page_path)
    assert page.status_code == 200, page.text
    return await browser.submit(action, {**form, "idempotency_key": idempotency_key_of(page.text)})


def marked_invalid(html: str, field: str) -> bool:
    """The page marks `field`'s input as wrong and says why beside it."""
    return bool(
        re.search(rf'name="{re.escape(field)}"[^>]*aria-invalid="true"', html)
        and f'id="e-{field}"' in html
    )


def assert_redirected(answer: httpx.Response, location_start: str) -> str:
    assert answer.status_code == 303, answer.text
    location: str = answer.headers["location"]
    assert location.startswith(location_start), location
    return location
