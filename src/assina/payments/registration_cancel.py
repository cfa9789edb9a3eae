"""What a provider made for a charge that no longer needs paying, cancelled there: the
cancellation adapter of the relay kernel (relay/kernel.py), over the same
`payment_registrations` rows as registration (payments/registration.py).

- `stop_registrations` cancels a charge's pending rows and marks its `registered` ones
  `cancelling`, in the transaction that invalidated or settled the charges
  (reactions/registrations.py), one statement per batch.
- `Canceller` claims due `cancelling` rows in batches with a lease, asks the providers with
  no transaction open (one request per provider payment: one Asaas payment may back both of
  a charge's rails), and records the batch in one transaction: done → `cancelled` (with
  `cancelled_at`); a refusal → back to `registered` with the provider's reason in
  `last_error` (a paid PIX charge or payment cannot be cancelled: this is how the one that
  settled the charge is left alone); no answer → retried on CANCEL_RETRIES, then left
  `registered` with the last reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.clock import Clock
from assina.db.database import Database
from assina.db.shapes import one_of
from assina.payment_settings.models import PaymentProvider
from assina.payments.connections import ProviderConnections
from assina.payments.models import Registration, RegistrationRail, RegistrationStatus
from assina.payments.providers import (
    BoletoIssuer,
    PixProvider,
    ProviderRefused,
    ProviderUnavailable,
)
from assina.payments.registration import (
    REGISTRATION_RETRIES,
    REGISTRATIONS,
    RegistrarConfig,
    due_registrations,
    provider_account,
)
from assina.relay.outbox import Outbox
from assina.relay.outcomes import Attempted, Delivered, FailedForGood, RetryLater, Verdict

logger = logging.getLogger("assina.registrations")

CANCEL_RETRIES = REGISTRATION_RETRIES
CANCEL_OUTBOX = Outbox(
    REGISTRATIONS,
    pending=(RegistrationStatus.CANCELLING,),
    delivered=RegistrationStatus.CANCELLED,
    failed=RegistrationStatus.REGISTERED,  # refused (paid), or the retries spent
    delivered_at="cancelled_at",
    last_error="last_error",
)


async def stop_registrations(
    session: AsyncSession, tenant_id: str, charge_ids: Sequence[str], due_at: datetime
) -> None:
    """These charges need no paying any more: their pending registrations are not made
    (`cancelled`), and their registered ones are to be cancelled at their providers from
    `due_at` (real time; `cancelling`, `attempt_count` then counting the cancellation's
    attempts). One UPDATE for the batch (the calendar settles thousands)."""
    if not charge_ids:
        return
    made = and_(
        Registration.status == RegistrationStatus.REGISTERED,
        Registration.provider_payment_id.is_not(None),
    )

    def when_made(then: Any, otherwise: Any) -> Any:
        return case((made, then), else_=otherwise)

    await session.execute(
        update(Registration)
        .where(
            Registration.tenant_id == tenant_id,
            one_of(Registration.charge_id, charge_ids),
            or_(Registration.status == RegistrationStatus.PENDING, made),
        )
        .values(
            status=when_made(RegistrationStatus.CANCELLING, RegistrationStatus.CANCELLED),
            attempt_count=when_made(0, Registration.attempt_count),
            next_attempt_at=when_made(due_at, Registration.next_attempt_at),
            last_error=when_made(None, Registration.last_error),
            locked_until=None,
        )
    )


@dataclass(frozen=True)
class _Cancel:
    """One provider payment to cancel, and the rows (id, attempts before) it stands for."""

    tenant_id: str
    provider: PaymentProvider
    provider_payment_id: str
    rails: frozenset[RegistrationRail]
    rows: tuple[tuple[str, int], ...]


class Canceller:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        connections: ProviderConnections,
        config: RegistrarConfig | None = None,
    ) -> None:
        self.database = database
        self.connections = connections
        self.config = config or RegistrarConfig()
        self.relay = self.config.relay(database, clock, CANCEL_OUTBOX)

    async def cancel_once(self, tenant_id: str | None = None) -> int:
        """One batch (of one tenant's rows, or anyone's): claim, call, record; returns how
        many rows were claimed."""
        cancels = await self._claim(tenant_id)
        if not cancels:
            return 0
        limit = asyncio.Semaphore(self.config.concurrency)

        async def called(cancel: _Cancel) -> tuple[_Cancel, Verdict]:
            async with limit:
                return cancel, await self._call(cancel)

        answered = await asyncio.gather(*(called(cancel) for cancel in cancels))

        def attempted(_now: datetime) -> list[Attempted]:
            return [
                Attempted(row_id, before, verdict, CANCEL_RETRIES)
                for cancel, verdict in answered
                for row_id, before in cancel.rows
            ]

        await self.relay.record(attempted)
        return sum(len(cancel.rows) for cancel in cancels)

    async def run(self, stop: asyncio.Event) -> None:
        async def step() -> bool:
            return await self.cancel_once() >= self.config.batch_size

        await self.relay.run(stop, step, "registration cancellation pass")

    async def _claim(self, tenant_id: str | None) -> list[_Cancel]:
        async with self.relay.claiming() as claim:
            rows = await due_registrations(
                claim, self.relay, CANCEL_OUTBOX, self.config.batch_size, tenant_id
            )
            await claim.lease([row.id for row in rows])
        return _grouped(rows)

    async def _call(self, cancel: _Cancel) -> Verdict:
        try:
            account = await provider_account(
                self.database, self.connections, cancel.tenant_id, cancel.provider
            )
            if RegistrationRail.BOLETO in cancel.rails:
                issuer: BoletoIssuer = account
                await issuer.cancel_boleto(cancel.provider_payment_id)
            else:
                pix: PixProvider = account
                await pix.cancel_pix(cancel.provider_payment_id)
        except ProviderRefused as refused:
            return FailedForGood(f"cancellation refused: {refused}")
        except ProviderUnavailable as error:
            return RetryLater(str(error))
        except Exception as error:  # one cancellation's failure, retried; the batch goes on
            logger.exception("cancelling %s failed", cancel.provider_payment_id)
            return RetryLater(f"{type(error).__name__}: {error}")
        return Delivered()


def _grouped(rows: Sequence[Registration]) -> list[_Cancel]:
    """One cancellation per provider payment (a charge's Asaas payment backs both rails)."""
    by_payment: dict[tuple[str, PaymentProvider, str], list[Registration]] = {}
    for row in rows:
        if row.provider_payment_id is not None:
            key = (row.tenant_id, row.provider, row.provider_payment_id)
            by_payment.setdefault(key, []).append(row)
    return [
        _Cancel(
            tenant_id,
            provider,
            payment_id,
            frozenset(row.rail for row in same),
            tuple((row.id, row.attempt_count) for row in same),
        )
        for (tenant_id, provider, payment_id), same in by_payment.items()
    ]
