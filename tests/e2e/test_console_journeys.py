"""The console's journeys in a real browser (Debian's Chromium through Playwright, never a
downloaded browser) against a real `assina serve`, set up with the command line as an
operator would: a sandbox tenant, an admin and a viewer (`assina user create`).

Screenshots of each page are taken on the way; with ASSINA_UPDATE_SCREENSHOTS=1 they are
written to docs/console/ (the README shows two). SQLite only: the pages' PostgreSQL paths are
the services', which the integration tests run on both databases."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, async_playwright, expect
from standardwebhooks.webhooks import Webhook

from tests.integration.test_cli import Background, Cli, _free_port, _healthy

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "console"
PASSWORD = "senha-do-console-123"
DESK = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 812}
DELIVERY_SECONDS = 30.0  # a bound on real time for the ping to arrive, not an assertion


@pytest.fixture
def chromium() -> str:
    if not CHROMIUM.exists():
        if os.environ.get("ASSINA_TEST_ALL_RECEIVERS") == "1":  # CI: .ci/run installs it
            pytest.fail(f"{CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is missing (Debian's chromium package)")
    return str(CHROMIUM)


class Served:
    def __init__(self, base_url: str, tenant_id: str, api_key: str) -> None:
        self.base_url = base_url
        self.tenant_id = tenant_id
        self.api = httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30
        )


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    cli = Cli(tmp_path)
    cli.run("migrate")
    created = json.loads(cli.run("tenant", "create", "Escola Alfa", "--sandbox", "--json").stdout)
    tenant_id = created["tenant_id"]
    for email, role in (("admin@escola.com.br", "admin"), ("leitura@escola.com.br", "viewer")):
        _create_user(cli, tenant_id, email, role)
    port = _free_port()
    server: Background = cli.start("serve", "--port", str(port), ASSINA_ALLOW_PRIVATE_TARGETS="1")
    try:
        base_url = f"http://127.0.0.1:{port}"
        server.wait_for(_healthy(base_url))
        runner = Served(base_url, tenant_id, created["api_key"])
        yield runner
        await runner.api.aclose()
    finally:
        server.process.terminate()
        server.process.wait(timeout=30)


def _create_user(cli: Cli, tenant_id: str, email: str, role: str) -> None:
    import subprocess

    from tests.integration.test_cli import COMMAND

    result = subprocess.run(  # noqa: S603 - our own console script
        [*COMMAND, "user", "create", email, "--tenant", tenant_id, "--role", role],
        input=f"{PASSWORD}\n",
        cwd=cli.directory,
        env=cli.env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


async def _shot(page: Page, tmp_path: Path, name: str) -> None:
    shot = tmp_path / f"{name}.png"
    await page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes().startswith(b"\x89PNG")
    if os.environ.get("ASSINA_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(exist_ok=True)
        shutil.copyfile(shot, SCREENSHOTS / f"{name}.png")


async def _sign_in(browser: Browser, base_url: str, email: str) -> Page:
    context = await browser.new_context(viewport=DESK, locale="pt-BR")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{base_url}/console")
    await expect(page.get_by_role("heading", name="Entrar no assina")).to_be_visible()
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Senha").fill(PASSWORD)
    await page.get_by_role("button", name="Entrar").click()
    await expect(page.get_by_role("heading", name="Painel")).to_be_visible()
    assert not errors, errors
    return page


async def test_a_finance_day_in_the_console(served: Served, chromium: str, tmp_path: Path) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium)
        admin = await _sign_in(browser, served.base_url, "admin@escola.com.br")
        await _shot(admin, tmp_path, "login-painel-empty")

        # A customer created in the console's form.
        await admin.get_by_role("link", name="Clientes").click()
        await admin.get_by_role("link", name="Novo cliente").click()
        await admin.get_by_label("Nome").fill("Ana Souza")
        await admin.get_by_label("CPF/CNPJ").fill("529.982.247-25")
        await admin.get_by_label("E-mail").fill("ana@example.com")
        await admin.get_by_role("button", name="Salvar").click()
        await expect(admin.get_by_role("heading", name="Ana Souza")).to_be_visible()
        customer_id = admin.url.rsplit("/", 1)[1]

        # A product and a contract for her, in the console's forms: the contract is listed on
        # her page, priced as the product.
        await admin.get_by_role("link", name="Produtos").click()
        await admin.get_by_role("link", name="Novo produto").click()
        await admin.get_by_label("Nome").fill("Mensalidade")
        await admin.get_by_label("Preço").fill("450,00")
        await admin.get_by_role("button", name="Salvar").click()
        await expect(admin.get_by_role("cell", name="Mensalidade")).to_be_visible()
        await admin.goto(f"{served.base_url}/console/contracts/new?customer_id={customer_id}")
        await admin.get_by_label("Cliente").select_option(customer_id)
        await admin.get_by_label("Produto 1").select_option(label="Mensalidade · R$ 450,00")
        await admin.get_by_role("button", name="Salvar").click()
        await expect(admin.get_by_text("R$ 450,00").first).to_be_visible()
        await _shot(admin, tmp_path, "contrato")
        contracts = (await served.api.get("/v1/contracts")).json()["data"]
        assert [(c["customer_id"], c["amount"]) for c in contracts] == [(customer_id, 45000)]
        # The day's routine (the test clock moved a day in the banner) issues its first
        # charge, shown on the contract's page.
        contract_url = admin.url
        await admin.get_by_label("dias").fill("1")
        await admin.get_by_role("button", name="Avançar").click()
        await expect(admin.get_by_text("1 cobrança(s) emitida(s)")).to_be_visible()
        first = (await served.api.get(f"/v1/charges?contract_id={contracts[0]['id']}")).json()
        [contract_charge] = first["data"]
        await admin.goto(contract_url)
        await expect(admin.get_by_role("link", name=str(contract_charge["number"]))).to_be_visible()

        # Two charges through the API; one settled in the console, one left to go overdue.
        clock = (await served.api.get("/v1/test-clock")).json()
        today = date.fromisoformat(clock["today"])
        charges = []
        for amount, due in ((45000, today + timedelta(days=2)), (12000, today + timedelta(days=3))):
            answer = await served.api.post(
                "/v1/charges",
                json={
                    "customer_id": customer_id,
                    "items": [{"description": "Mensalidade", "amount": amount}],
                    "due_date": due.isoformat(),
                },
            )
            assert answer.status_code == 201, answer.text
            charges.append(answer.json())
        await admin.goto(f"{served.base_url}/console/charges/{charges[0]['id']}")
        await expect(admin.get_by_text("R$ 450,00").first).to_be_visible()
        await _shot(admin, tmp_path, "charge")
        await admin.get_by_role("button", name="Dar baixa (liquidar)").click()
        await expect(admin.get_by_text("Liquidada").first).to_be_visible()
        settled = (await served.api.get(f"/v1/charges/{charges[0]['id']}")).json()
        assert settled["status"] == "settled"

        # The test clock moves past the other charge's due date: the customer is delinquent
        # and the Painel says so.
        await admin.get_by_label("dias").fill("5")
        await admin.get_by_role("button", name="Avançar").click()
        later = (today + timedelta(days=5)).strftime("%d/%m/%Y")
        await expect(admin.get_by_text(f"Relógio em {later}")).to_be_visible()
        customer = (await served.api.get(f"/v1/customers/{customer_id}")).json()
        assert customer["status"] == "delinquent"
        await admin.get_by_role("link", name="Painel").click()
        # Overdue: the contract's first charge and the one left unpaid (R$ 450 + R$ 120).
        await expect(admin.locator("#overdue-amount")).to_contain_text("R$ 570,00")
        await expect(admin.locator("#mrr")).to_have_text("R$ 450,00")
        await expect(admin.get_by_text("1 cliente(s) com cobrança vencida")).to_be_visible()
        await _shot(admin, tmp_path, "painel")
        await admin.get_by_role("link", name="Clientes").click()
        await expect(admin.get_by_role("cell", name="Inadimplente")).to_be_visible()
        await _shot(admin, tmp_path, "clientes")

        # A viewer sees the same charge but has nothing to press, and a forged POST is refused.
        viewer = await _sign_in(browser, served.base_url, "leitura@escola.com.br")
        await viewer.goto(f"{served.base_url}/console/charges/{charges[1]['id']}")
        await expect(viewer.get_by_text("R$ 120,00").first).to_be_visible()
        assert await viewer.get_by_role("button", name="Dar baixa (liquidar)").count() == 0
        token = await viewer.locator("input[name=csrf_token]").first.get_attribute("value")
        refused = await viewer.request.post(
            f"{served.base_url}/console/charges/{charges[1]['id']}/settle",
            form={"csrf_token": token or "", "amount": ""},
        )
        assert refused.status == 403
        assert "Seu papel não permite esta ação." in await refused.text()
        still = (await served.api.get(f"/v1/charges/{charges[1]['id']}")).json()
        assert still["status"] == "open"
        await browser.close()


async def test_an_integrator_presses_novo_and_the_receiver_gets_the_ping(
    served: Served, chromium: str, tmp_path: Path
) -> None:
    received: list[tuple[dict[str, str], bytes]] = []
    arrived = asyncio.Event()

    async def hook(request: web.Request) -> web.Response:
        received.append((dict(request.headers), await request.read()))
        arrived.set()
        return web.Response(status=204)

    receiver = web.Application()
    receiver.router.add_post("/hook", hook)
    runner = web.AppRunner(receiver)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=chromium)
            admin = await _sign_in(browser, served.base_url, "admin@escola.com.br")
            await admin.get_by_role("link", name="Webhooks").click()
            await admin.get_by_role("link", name="Novo").click()
            await admin.get_by_label("URL").fill(f"http://127.0.0.1:{port}/hook")
            await admin.get_by_label("Descrição").fill("ERP da escola")
            await admin.get_by_label("Todos os eventos").check()
            await _shot(admin, tmp_path, "webhook-novo")
            await admin.get_by_role("button", name="Salvar").click()
            secret = await admin.locator("code.secret").text_content()
            assert secret and secret.startswith("whsec_")
            await admin.get_by_role("button", name="Enviar teste (ping)").click()
            await asyncio.wait_for(arrived.wait(), timeout=DELIVERY_SECONDS)
            headers, body = received[0]
            event = Webhook(secret).verify(body, headers)
            assert event["type"] == "webhook.ping"
            await admin.reload()
            await expect(admin.get_by_role("cell", name="Entregue")).to_be_visible()
            await admin.locator("summary").first.click()  # the message's attempts
            await expect(admin.get_by_text("204").first).to_be_visible()
            await _shot(admin, tmp_path, "webhook")

            # The e-mail a customer gets, edited with its preview beside it.
            await admin.get_by_role("link", name="Configurações").click()
            await admin.get_by_role("link", name="Modelos de e-mail").click()
            await admin.get_by_role("link", name="Lembrete de vencimento").click()
            await admin.get_by_label("Assunto").fill("Sua mensalidade vence em breve")
            await expect(admin.locator(".preview-subject")).to_have_text(
                "Sua mensalidade vence em breve"
            )
            preview = admin.frame_locator("iframe.preview-html")  # sandboxed: no script runs
            await expect(preview.get_by_text("Olá, Maria da Conceição Souza!")).to_be_visible()
            await _shot(admin, tmp_path, "email-template")

            # On a phone: the Painel in one column, nothing wider than the screen.
            phone = await browser.new_context(viewport=PHONE, is_mobile=True, locale="pt-BR")
            page = await phone.new_page()
            await page.goto(f"{served.base_url}/console/login")
            await page.get_by_label("E-mail").fill("admin@escola.com.br")
            await page.get_by_label("Senha").fill(PASSWORD)
            await page.get_by_role("button", name="Entrar").click()
            await expect(page.get_by_role("heading", name="Painel")).to_be_visible()
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"]
            await _shot(page, tmp_path, "painel-phone")
            await browser.close()
    finally:
        await runner.cleanup()
