"""HTTP for customers' saved cards (`/v1/customers/{id}/cards`): save one from a provider's
token or (the sandbox) its number, list, read, delete, choose the default."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.openapi import problem_responses
from assina.core.pagination import Page, PageQuery
from assina.payments import cards
from assina.payments.api import ConnectionsDep
from assina.payments.card_schemas import CardIn, CardOut
from assina.tenants.deps import CallerDep, IdempotentCallerDep

router = APIRouter(prefix="/v1/customers/{customer_id}/cards", tags=["cards"])

CustomerId = Annotated[str, Path(max_length=64)]
CardId = Annotated[str, Path(max_length=64)]


@router.post(
    "",
    status_code=201,
    response_model=CardOut,
    responses=problem_responses(400, 401, 404, 409, 413, 422, 502, 503),
    summary="Save a card for a customer (a provider's token, or a sandbox card's number)",
)
async def save_card(
    customer_id: CustomerId,
    body: CardIn,
    request: Request,
    caller: IdempotentCallerDep,
    connections: ConnectionsDep,
) -> JSONResponse:
    """Keeps the card at the tenant's card provider and stores its token (sealed), brand,
    last 4 digits and expiry, never the number or the CVC. With `token`: a token the provider
    made in the payer's browser (the sandbox's `tok_sbx_…`; an Asaas creditCardToken with
    `brand, last4, exp_month, exp_year`). With `number, exp_month, exp_year, cvc,
    holder_name`: the sandbox card provider only, which tokenizes it over HTTP. 422 for a
    number that fails the Luhn check, an expired card (by the tenant's today), a CVC that is
    not 3 or 4 digits, a tenant without a card provider, a number outside the sandbox, and a
    card the provider refuses to keep (`card-declined`, with `decline_code`); 503 when the
    provider cannot be reached. The customer's first card is its default; `"default": true`
    makes the new one the default."""
    saved_from_ip = request.client.host if request.client else None
    wanted = cards.CardToSave(caller.tenant, customer_id, body, saved_from_ip)

    async def use_case() -> dict[str, Any]:
        card = await cards.save_card(caller.database, caller.clock, connections, wanted)
        return CardOut.of(card).model_dump(mode="json")

    # The body may hold a card's number and CVC: the key keeps a keyed hash of it.
    return await caller.respond_once_in_steps(request, 201, use_case, secret_body=True)


@router.get(
    "",
    response_model=Page[CardOut],
    responses=problem_responses(401, 404, 422),
    summary="A customer's saved cards",
)
async def list_cards(customer_id: CustomerId, caller: CallerDep, page: PageQuery) -> Page[CardOut]:
    """The customer's cards not deleted, oldest first (by id); `default` marks the one a
    charge uses when it names none."""
    async with caller.database.read() as session:
        rows, has_more = await cards.list_cards(session, caller.tenant_id, customer_id, page)
        return Page[CardOut](data=[CardOut.of(row) for row in rows], has_more=has_more)


@router.get(
    "/{card_id}",
    response_model=CardOut,
    responses=problem_responses(401, 404, 422),
    summary="One saved card",
)
async def get_card(customer_id: CustomerId, card_id: CardId, caller: CallerDep) -> CardOut:
    """One of the customer's cards (404 once deleted)."""
    async with caller.database.read() as session:
        card = await cards.get_card(session, caller.tenant_id, customer_id, card_id)
        return CardOut.of(card)


@router.delete(
    "/{card_id}",
    response_model=CardOut,
    responses=problem_responses(401, 404, 422),
    summary="Delete a saved card",
)
async def delete_card(customer_id: CustomerId, card_id: CardId, caller: CallerDep) -> CardOut:
    """Deletes the card: it is no longer listed or charged (the attempts made on it still
    name it). When it was the default, the newest card left becomes the default. The answer
    is the card as it was."""
    async with caller.database.write() as session:
        card = await cards.get_card(session, caller.tenant_id, customer_id, card_id)
        shown = CardOut.of(card)
        await cards.delete_card(session, caller.clock, card)
        return shown


@router.post(
    "/{card_id}/default",
    response_model=CardOut,
    responses=problem_responses(400, 401, 404, 409, 413, 422),
    summary="Make a saved card the customer's default",
)
async def make_default(
    customer_id: CustomerId, card_id: CardId, request: Request, caller: IdempotentCallerDep
) -> JSONResponse:
    """The card becomes the one a charge uses when it names none; the customer's other cards
    stop being the default. Making the default the default changes nothing."""

    async def use_case(session: AsyncSession) -> dict[str, Any]:
        card = await cards.make_default(session, caller.tenant_id, customer_id, card_id)
        return CardOut.of(card).model_dump(mode="json")

    return await caller.respond_once(request, 200, use_case)
