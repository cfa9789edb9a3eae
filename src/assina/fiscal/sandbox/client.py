"""assina's side of the sandbox fiscal issuer: the HTTP client, a `FiscalIssuer`."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

import aiohttp

from assina.fiscal.providers import (
    InvoiceOrder,
    IssuedDocument,
    IssuerInvoice,
    IssuerStatus,
    ProviderRefused,
    ProviderUnavailable,
)

REQUEST_TIMEOUT_SECONDS = 15.0


class SandboxFiscalClient:
    """Calls the sandbox fiscal issuer at `base_url` as one tenant's account."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str, account_key: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {account_key}"}

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
        try:
            async with self._http.request(
                method, self._base + path, headers=self._headers, json=body, timeout=timeout
            ) as answer:
                status, shown = answer.status, await answer.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise ProviderUnavailable(f"the sandbox issuer did not answer: {error!r}") from error
        if status >= 500 or status == 429:
            raise ProviderUnavailable(f"the sandbox issuer answered {status}")
        if status >= 400:
            problem = shown.get("error") if isinstance(shown, dict) else None
            message = problem.get("message") if isinstance(problem, dict) else None
            raise ProviderRefused(str(message or f"the sandbox issuer answered {status}"))
        return shown

    async def issue(self, order: InvoiceOrder) -> IssuerInvoice:
        body = {
            "reference": order.invoice_id,
            "idempotency_key": order.idempotency_key,
            "emitter_cnpj": order.emitter.cnpj,
            "municipality_code": order.emitter.municipality_code,
            "amount": order.amount,
            "service_description": order.service_description,
            "requested_at": order.requested_at.isoformat(),
        }
        return _invoice(await self._call("POST", "/v1/invoices", body))

    async def look_up(self, provider_invoice_id: str) -> IssuerInvoice:
        return _invoice(await self._call("GET", f"/v1/invoices/{quote(provider_invoice_id)}"))

    async def cancel(self, provider_invoice_id: str, reason: str) -> IssuerInvoice:
        path = f"/v1/invoices/{quote(provider_invoice_id)}/cancel"
        return _invoice(await self._call("POST", path, {"reason": reason}))

    async def pdf(self, provider_invoice_id: str) -> IssuedDocument | None:
        return None  # the sandbox serves none: assina renders its DANFSe

    async def xml(self, provider_invoice_id: str) -> IssuedDocument | None:
        return None  # the sandbox serves none: assina answers its DPS


def _invoice(shown: Any) -> IssuerInvoice:
    if not isinstance(shown, dict) or shown.get("status") not in set(IssuerStatus):
        raise ProviderUnavailable("the sandbox issuer answered something unreadable")
    number = shown.get("number")
    return IssuerInvoice(
        provider_invoice_id=str(shown["id"]),
        status=IssuerStatus(shown["status"]),
        nfse_number=str(number) if number is not None else None,
        verification_code=shown.get("verification_code"),
        access_key=shown.get("access_key"),
        issued_at=_instant(shown.get("issued_at")),
        reason=shown.get("reason"),
        cancelled_at=_instant(shown.get("cancelled_at")),
    )


def _instant(text: object) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) else None
