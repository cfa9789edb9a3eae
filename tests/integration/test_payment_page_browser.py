"""The payment page in a real browser (Chromium through Playwright), at a phone's width: the
amount, the PIX copy button, and the sandbox card form paying the charge. The screenshot of
docs/payment-page.png is taken here: run with ASSINA_UPDATE_SCREENSHOTS=1 to write it again.

Chromium is Debian's (`/usr/bin/chromium`, which `.ci/run` installs), never a browser that
`playwright install` downloads; without it the test skips."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import async_playwright

from tests.conftest import TenantClient
from tests.integration.charge_support import PIX_SETTINGS, create_charge, line, read_charge
from tests.integration.payment_support import LiveApp

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "payment-page.png"
PHONE = {"width": 375, "height": 812}


@pytest.fixture
def chromium() -> str:
    if not CHROMIUM.exists():
        if os.environ.get("ASSINA_TEST_ALL_RECEIVERS") == "1":  # CI: .ci/run installs it
            pytest.fail(f"{CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is missing (Debian's chromium package)")
    return str(CHROMIUM)


def _keep(shot: Path) -> None:
    """The screenshot is a PNG; written to docs/ when asked (ASSINA_UPDATE_SCREENSHOTS=1)."""
    assert shot.read_bytes().startswith(b"\x89PNG")
    if os.environ.get("ASSINA_UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(shot, SCREENSHOT)


async def test_the_page_on_a_phone(
    sandbox: TenantClient, live: LiveApp, tmp_path: Path, chromium: str
) -> None:
    api = live.as_tenant(sandbox)
    settings = await api.http.put("/v1/billing-settings", json=PIX_SETTINGS, headers=api.headers)
    assert settings.status_code == 200, settings.text
    customer = await api.post("/v1/customers", {"name": "Ana Souza", "email": "ana@example.com"})
    charge = await create_charge(
        api,
        customer.json()["id"],
        items=[line(12000, description="Mensalidade — março"), line(3000, description="Material")],
        due_date="2026-02-10",
    )
    url = live.base_url + urlsplit(charge["payment_url"]).path
    pix_code = charge["payment_instructions"]["pix_code"]

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium)
        context = await browser.new_context(
            viewport=PHONE,
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            locale="pt-BR",
            permissions=["clipboard-read", "clipboard-write"],
        )
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda message: errors.append(message.text))
        await page.goto(url)

        assert await page.text_content("#amount") == "R$ 150,00"
        # Nothing wider than the phone: no sideways scrolling.
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"]
        shot = tmp_path / "payment-page.png"
        await page.screenshot(path=str(shot), full_page=True)
        await page.click("#copy-pix")
        await page.wait_for_function(
            "document.getElementById('copy-pix').textContent === 'Copiado!'"
        )
        assert await page.evaluate("navigator.clipboard.readText()") == pix_code

        await page.fill("#number", "4111 1111 1111 1111")
        await page.fill("#exp_month", "12")
        await page.fill("#exp_year", "2030")
        await page.fill("#cvc", "123")
        await page.fill("#holder_name", "ANA SOUZA")
        await page.click("#pay-card")
        await page.wait_for_selector("#outcome")
        outcome = await page.text_content("#outcome")
        paid_note = await page.text_content("h2")
        await browser.close()

    assert outcome is not None and outcome.startswith("Aprovado")
    assert paid_note == "Pago em 15/01/2026"
    assert errors == []  # no script error, nothing the page's CSP blocked
    assert (await read_charge(api, charge["id"]))["status"] == "settled"
    _keep(shot)
