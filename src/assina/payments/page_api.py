"""HTTP for the customer's payment page: `/pay/{token}` (HTML), its boleto's PDF and, on
sandbox tenants, its card form. No API key: the token (charges/links.py) is the only key, so
these routes are outside the API's OpenAPI document and its per-key rate limits."""

from __future__ import annotations

import asyncio
import secrets
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from assina.charges.boleto import boleto_document
from assina.charges.links import PaymentLinks
from assina.charges.models import Charge
from assina.payment_settings.api import base_url_of
from assina.payments.api import ConnectionsDep
from assina.payments.page import CardOutcome, PaymentPage, pay_from_page, read_payment_page
from assina.rules.boleto_pdf import render_boleto_pdf
from assina.tenants.deps import RuntimeDep

router = APIRouter(include_in_schema=False)

# Any text: a token too long to be one is a 404 page like any other (PaymentLinks checks it).
Token = Annotated[str, Path()]
MAX_FORM_BYTES = 4096

_templates = Environment(
    loader=PackageLoader("assina.payments", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _links(request: Request) -> PaymentLinks:
    links: PaymentLinks = request.app.state.payment_links
    return links


def _html(page: PaymentPage | None, outcome: CardOutcome | None, status: int) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    body = _templates.get_template("pay.html").render(page=page, outcome=outcome, nonce=nonce)
    headers = {
        # The token is the key: never cached by a proxy, never sent on as a Referer.
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": (
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
            f"script-src 'nonce-{nonce}'; form-action 'self'; frame-ancestors 'none'; "
            "base-uri 'none'"
        ),
    }
    return HTMLResponse(body, status_code=status, headers=headers)


@router.get("/pay/{token}", response_class=HTMLResponse)
async def payment_page(token: Token, request: Request, runtime: RuntimeDep) -> HTMLResponse:
    """The charge's page: amount, due date, fees due today, PIX QR and code, boleto line and
    PDF, the sandbox card form; a settled or cancelled charge says so; 404 page otherwise."""
    page = await read_payment_page(runtime.database, runtime.clock, _links(request), token)
    return _html(page, None, 200 if page else 404)


@router.get("/pay/{token}/boleto.pdf")
async def payment_page_boleto(token: Token, request: Request, runtime: RuntimeDep) -> Response:
    """The printable boleto, as GET /v1/charges/{id}/boleto.pdf draws it (409 `no-boleto`
    when the charge has none)."""
    charge_id = _links(request).charge_id_of(token)
    async with runtime.database.read() as session:
        charge = await session.get(Charge, charge_id) if charge_id else None
        if charge is None:
            return _html(None, None, 404)
        document = await boleto_document(session, charge.tenant_id, charge)
    pdf = await asyncio.to_thread(render_boleto_pdf, document)
    headers = {
        "Cache-Control": "private, no-store",  # the payer's name, document and address
        "Referrer-Policy": "no-referrer",
        "Content-Disposition": f'inline; filename="boleto-{document.document_number}.pdf"',
    }
    return Response(pdf, media_type="application/pdf", headers=headers)


@router.post("/pay/{token}/card", response_class=HTMLResponse)
async def payment_page_card(
    token: Token, request: Request, runtime: RuntimeDep, connections: ConnectionsDep
) -> HTMLResponse:
    """The sandbox card form (urlencoded): the card saved for the customer, one attempt now,
    and the page again with the outcome (approved settles, declined raises `card.declined`).
    422 page for a form that is not a card; 404 page where the page shows no card form."""
    links = _links(request)
    page = await read_payment_page(runtime.database, runtime.clock, links, token)
    if page is None or not page.card_form:
        return _html(page, None, 404)
    raw = await request.body()
    if len(raw) > MAX_FORM_BYTES:
        return _html(page, CardOutcome("refused", "Formulário grande demais."), 413)
    try:
        form = dict(parse_qsl(raw.decode("utf-8", errors="replace"), max_num_fields=10))
    except ValueError:  # more fields than the form has
        return _html(page, CardOutcome("refused", "Formulário inválido."), 422)
    outcome = await pay_from_page(
        runtime.database,
        connections,
        runtime.clock,
        page,
        form,
        remote_ip=request.client.host if request.client else None,
        base_url=base_url_of(runtime, request),
    )
    after = await read_payment_page(runtime.database, runtime.clock, links, token)
    return _html(after, outcome, 422 if outcome.status == "refused" else 200)
