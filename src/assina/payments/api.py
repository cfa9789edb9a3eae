"""HTTP for payments: the providers' inbound route, the inbound events, reconciliation on
demand, and the sandbox's "the payer paid" control."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Request
from fastapi.responses import JSONResponse

from assina.charges.models import ChargeStatus
from assina.charges.service import get_charge
from assina.charges.settlement import amount_due
from assina.core.errors import Problem, conflict, not_found
from assina.core.inputs import refuse_empty_json
from assina.core.openapi import problem_responses
from assina.core.pagination import Page, PageQuery, ReferenceFilter
from assina.payment_settings.api import base_url_of
from assina.payment_settings.models import PaymentProvider
from assina.payment_settings.service import InboundTokens, ensure_inbound_urls
from assina.payments import inbound
from assina.payments.card_payment import CardPayment, pay_by_card_now
from assina.payments.connections import ProviderConnections
from assina.payments.inbound_commit import InboundGroupCommit
from assina.payments.models import InboundOutcome
from assina.payments.providers import (
    NotificationRefused,
    ProviderRefused,
    ProviderUnavailable,
    provider_failed,
)
from assina.payments.reconciliation import reconcile
from assina.payments.registration import list_registrations
from assina.payments.schemas import (
    ChargePaid,
    ChargePayIn,
    InboundAnswer,
    InboundEventOut,
    ReconciliationOut,
    RecordedOut,
    RegistrationOut,
    SandboxPayIn,
    SandboxPaymentOut,
)
from assina.tenants.deps import (
    CallerDep,
    IdempotentCallerDep,
    RuntimeDep,
)

router = APIRouter(tags=["payments"])

Token = Annotated[str, Path(max_length=128)]


async def provider_connections(request: Request) -> ProviderConnections:
    connections: ProviderConnections = request.app.state.provider_connections
    return connections


ConnectionsDep = Annotated[ProviderConnections, Depends(provider_connections)]


async def inbound_group_commit(request: Request) -> InboundGroupCommit:
    group_commit: InboundGroupCommit = request.app.state.inbound_group_commit
    return group_commit


GroupCommitDep = Annotated[InboundGroupCommit, Depends(inbound_group_commit)]


async def inbound_tokens_of(request: Request) -> InboundTokens:
    tokens: InboundTokens = request.app.state.inbound_tokens
    return tokens


InboundTokensDep = Annotated[InboundTokens, Depends(inbound_tokens_of)]


def _refused(error: NotificationRefused) -> Problem:
    if error.unauthenticated:
        return Problem(401, "inbound-unverified", str(error), "Notification not verified")
    return Problem(400, "inbound-unreadable", str(error), "Notification not readable")


@router.post(
    "/v1/inbound/{provider}/{token}",
    response_model=InboundAnswer,
    responses=problem_responses(400, 401, 404, 413),
    summary="Where a payment provider notifies assina (no API key: the URL's token)",
)
async def receive_notification(
    provider: Annotated[str, Path(max_length=32)],
    token: Token,
    request: Request,
    runtime: RuntimeDep,
    connections: ConnectionsDep,
    group_commit: GroupCommitDep,
    inbound_tokens: InboundTokensDep,
) -> InboundAnswer:
    """The URL `GET /v1/payment-settings` gives each provider. The notification is verified
    as its provider vouches for it (the sandbox: `sandbox-signature`; Asaas: the
    `asaas-access-token` the tenant stored as its webhook token), then recorded once per the
    provider's event id and applied with the settlement it brings, in one transaction (shared
    with the notifications that arrive at the same moment), answered once it commits. A
    replay answers 200 and changes nothing; a charge that is not open is not settled again
    (`already_settled`); a reference to no charge is kept as `unmatched`. 404 for an unknown
    URL, 401 for a signature that does not verify (nothing is written), 400 for a body that
    is not the provider's."""
    tenant_id = await inbound_tokens.tenant_for(provider, token)
    if tenant_id is None:  # an unknown token, or a provider assina does not know
        raise not_found("inbound URL", f"{provider}/…")
    secret = await connections.inbound_secret(
        runtime.database, PaymentProvider(provider), tenant_id
    )
    if secret is None:
        raise Problem(
            401,
            "inbound-unverified",
            "no webhook token is stored for this provider: set it in PUT /v1/payment-settings",
            "Notification not verified",
        )
    reader = connections.inbound_reader(PaymentProvider(provider))
    body = await request.body()
    try:
        notifications = reader.read_notifications(
            request.headers, body, secret, runtime.clock.real_now()
        )
    except NotificationRefused as error:
        raise _refused(error) from error
    payload = json.loads(body)
    recorded = await group_commit.record(
        tenant_id,
        PaymentProvider(provider),
        notifications,
        payload if isinstance(payload, dict) else {"body": payload},
    )
    return InboundAnswer(received=[RecordedOut.of(entry) for entry in recorded])


@router.get(
    "/v1/inbound-events",
    response_model=Page[InboundEventOut],
    responses=problem_responses(401, 422),
    summary="What the payment providers told assina",
)
async def list_inbound_events(
    caller: CallerDep,
    page: PageQuery,
    provider: PaymentProvider | None = None,
    outcome: InboundOutcome | None = None,
    charge_id: ReferenceFilter = None,
) -> Page[InboundEventOut]:
    """Every notification received (and every payment reconciliation found), oldest first,
    with what assina did with it; `?outcome=unmatched` lists what needs a person."""
    filters = inbound.InboundFilters(provider=provider, outcome=outcome, charge_id=charge_id)
    async with caller.database.read() as session:
        rows, has_more = await inbound.list_inbound_events(session, caller.tenant_id, filters, page)
        return Page[InboundEventOut](data=[InboundEventOut.of(r) for r in rows], has_more=has_more)


@router.get(
    "/v1/inbound-events/{inbound_event_id}",
    response_model=InboundEventOut,
    responses=problem_responses(401, 404),
    summary="One notification a provider sent",
)
async def get_inbound_event(inbound_event_id: str, caller: CallerDep) -> InboundEventOut:
    """One inbound event by id: what the provider sent, as sent, and what assina did."""
    async with caller.database.read() as session:
        row = await inbound.get_inbound_event(session, caller.tenant_id, inbound_event_id)
        return InboundEventOut.of(row)


@router.get(
    "/v1/charges/{charge_id}/registrations",
    response_model=list[RegistrationOut],
    responses=problem_responses(401, 404),
    summary="The charge's registrations with its PIX and boleto providers",
    tags=["charges"],
)
async def list_charge_registrations(charge_id: str, caller: CallerDep) -> list[RegistrationOut]:
    """Where the charge stands with the tenant's providers, one entry per rail: `pending`
    until the provider made its PIX charge or boleto (the charge then carries its code and
    numbers in `payment_instructions`, and `charge.updated` says so), `failed` for good when
    the provider refused it (`last_error`). Empty for a charge with nothing to register
    (no provider set, not in reais, nothing to pay, paid by card)."""
    async with caller.database.read() as session:
        await get_charge(session, caller.tenant_id, charge_id)
        rows = await list_registrations(session, caller.tenant_id, charge_id)
        return [RegistrationOut.of(row) for row in rows]


@router.post(
    "/v1/reconciliations",
    response_model=ReconciliationOut,
    responses=problem_responses(400, 401, 404, 409, 502, 503),
    summary="Ask the sandbox provider now what it received (the worker does it periodically)",
)
async def reconcile_now(
    request: Request, caller: IdempotentCallerDep, connections: ConnectionsDep
) -> JSONResponse:
    """Asks the provider what it received since the last look and records what no
    notification brought. Sandbox tenants (the sandbox provider); 404 for a live tenant
    until a live provider reconciles."""
    if not caller.tenant.sandbox:
        raise not_found("reconciliation", "sandbox")

    async def use_case() -> dict[str, Any]:
        client = await connections.sandbox_client(caller.tenant_id)
        try:
            done = await reconcile(
                caller.database, caller.clock, caller.tenant_id, PaymentProvider.SANDBOX, client
            )
        except (ProviderRefused, ProviderUnavailable) as error:
            raise provider_failed(error) from error
        shown = ReconciliationOut(
            provider=done.provider,
            looked_since=done.looked_since,
            found=done.found,
            recorded=[RecordedOut.of(entry) for entry in done.recorded],
        )
        return shown.model_dump(mode="json")

    return await caller.respond_once_in_steps(request, 200, use_case)


@router.post(
    "/v1/sandbox/charges/{charge_id}/pay",
    status_code=202,
    response_model=SandboxPaymentOut,
    responses=problem_responses(400, 401, 404, 409, 413, 422, 502, 503),
    summary="Sandbox: the payer pays a charge by PIX or boleto",
    tags=["sandbox"],
)
async def pay_in_sandbox(
    charge_id: str,
    body: SandboxPayIn,
    request: Request,
    caller: IdempotentCallerDep,
    runtime: RuntimeDep,
    connections: ConnectionsDep,
) -> JSONResponse:
    """The sandbox provider receives a payment for the charge, as a bank would: by default
    what settles it today (fees included), or any `amount` (a partial payment settles the
    charge with what was received). It then notifies assina's inbound URL, signed, which
    settles the charge (`charge.settled`) a moment after this answer; paying a charge that
    is no longer open is recorded as `already_settled` and settles nothing. Sandbox tenants
    only (404 for a live tenant)."""
    if not caller.tenant.sandbox:
        raise not_found("charge", charge_id)
    base_url = base_url_of(runtime, request)

    async def use_case() -> dict[str, Any]:
        now = caller.clock.now()
        async with caller.database.read() as session:
            charge = await get_charge(session, caller.tenant_id, charge_id)
            amount = body.amount or await amount_due(session, caller.tenant_id, charge, now)
            invalidated = charge.status == ChargeStatus.INVALIDATED
        if amount <= 0 or invalidated:
            raise conflict(f"Charge {charge_id} has nothing to pay.", "nothing-to-pay")
        async with caller.database.write() as session:
            urls = await ensure_inbound_urls(
                session, caller.clock, runtime.secret_box, caller.tenant_id, base_url
            )
        notify_url = next(url.url for url in urls if url.provider == PaymentProvider.SANDBOX)
        client = await connections.sandbox_client(caller.tenant_id)
        try:
            paid = await client.record_payment(charge_id, body.method, amount, now, notify_url)
        except (ProviderRefused, ProviderUnavailable) as error:
            raise provider_failed(error) from error
        return SandboxPaymentOut.model_validate(paid).model_dump(mode="json")

    return await caller.respond_once_in_steps(request, 202, use_case)


@router.post(
    "/v1/charges/{charge_id}/pay",
    dependencies=[Depends(refuse_empty_json)],
    response_model=ChargePaid,
    responses=problem_responses(400, 401, 404, 409, 413, 422),
    summary="One card attempt now",
    tags=["charges"],
)
async def pay_charge_by_card(
    charge_id: str,
    request: Request,
    caller: IdempotentCallerDep,
    runtime: RuntimeDep,
    connections: ConnectionsDep,
    body: Annotated[ChargePayIn, Body(default_factory=ChargePayIn)],
) -> JSONResponse:
    """Charges the open charge to a card of its customer (`card_id`, default: the customer's
    default card) for what settles it now, fees included. Approved: the charge is settled
    (`charge.settled`). Declined: `card.declined` with the attempt's number, `decline_code`
    and message, and the charge stays open. Processing: the gateway decides later and its
    notification settles the charge or raises `card.declined`. A gateway that does not answer
    leaves the attempt `failed`. Always 200 with the attempt (402 is not used); 409 for a
    charge that is not open, 422 for a customer without that card."""
    payment = CardPayment(
        tenant_id=caller.tenant_id,
        time_zone=caller.tenant.time_zone,
        clock=caller.clock,
        charge_id=charge_id,
        card_id=body.card_id,
        base_url=base_url_of(runtime, request),
    )

    async def use_case() -> dict[str, Any]:
        paid = await pay_by_card_now(caller.database, connections, payment)
        return paid.model_dump(mode="json")

    return await caller.respond_once_in_steps(request, 200, use_case)
