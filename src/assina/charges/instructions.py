"""A charge's payment instructions as its provider made them: the PIX code of the charge's
PIX charge, the numbers of its registered boleto (payments/registration.py records them
here; charges never calls a provider). Open charges only: a charge settled or invalidated
meanwhile keeps what it had. Each changed charge emits `charge.updated` with the
instructions it had before."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.charges.models import Charge, ChargeStatus
from assina.charges.schemas import ChargeOut
from assina.core.clock import Clock
from assina.db.shapes import one_of
from assina.events.catalog import EventType
from assina.events.service import Change, changed_fields, emit_typed_events, snapshot


@dataclass(frozen=True)
class BoletoFromProvider:
    line: str  # formatted linha digitável
    barcode: str  # 44 digits
    our_number: str


@dataclass(frozen=True)
class ProviderInstructions:
    """What a provider made for one charge: a PIX code, a boleto, or both."""

    charge_id: str
    pix_code: str | None = None
    boleto: BoletoFromProvider | None = None


async def apply_provider_instructions(
    session: AsyncSession, clock: Clock, tenant_id: str, made: Sequence[ProviderInstructions]
) -> list[str]:
    """Put the providers' instructions on the tenant's open charges (one locking query for
    the batch) and emit their `charge.updated`; returns the ids of the charges changed."""
    if not made:
        return []
    charges = {
        charge.id: charge
        for charge in await session.scalars(
            select(Charge)
            .where(
                Charge.tenant_id == tenant_id,
                one_of(Charge.id, sorted({instructions.charge_id for instructions in made})),
                Charge.status == ChargeStatus.OPEN,
            )
            .order_by(Charge.id)
            .with_for_update()
        )
    }
    now = clock.now()
    events: list[tuple[EventType, Change]] = []
    for instructions in made:
        charge = charges.get(instructions.charge_id)
        if charge is None:
            continue
        before = snapshot(ChargeOut.of(charge))
        if instructions.pix_code is not None:
            charge.pix_code = instructions.pix_code
        if instructions.boleto is not None:
            charge.boleto_line = instructions.boleto.line
            charge.boleto_barcode = instructions.boleto.barcode
            charge.boleto_our_number = instructions.boleto.our_number[:20]
        shown = ChargeOut.of(charge)
        previous = changed_fields(before, snapshot(shown))
        if previous:
            charge.updated_at = now
            events.append((EventType.CHARGE_UPDATED, Change(shown, charge.customer_id, previous)))
    await session.flush()
    await emit_typed_events(session, clock, tenant_id, events, now=now, due_at=clock.real_now())
    return [change.data.id for _, change in events if isinstance(change.data, ChargeOut)]
