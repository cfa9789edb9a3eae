"""A tenant's payment settings stored: read with its mode's defaults, replaced whole (secrets
sealed), and its inbound tokens, made on the first read or write and found back by hash."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import asdict
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.clock import Clock
from assina.core.errors import invalid
from assina.core.secrets import SecretBox
from assina.db.database import Database
from assina.db.dialect import insert_on_conflict
from assina.payment_settings.models import InboundToken, PaymentProvider, PaymentSettings
from assina.payment_settings.schemas import (
    SANDBOX_ONLY,
    BankAgreement,
    InboundUrl,
    PaymentChoices,
    PaymentSettingsIn,
    PaymentView,
    default_choices,
)
from assina.tenants.models import Tenant, TenantMode
from assina.tenants.service import TenantContext

INBOUND_TOKEN_BYTES = 32
LAST_CHARACTERS_SHOWN = 4
MIN_LENGTH_SHOWING_LAST = 12


def _hash_token(token: str) -> str:
    # 256 random bits: a fast hash is enough to find the tenant and reveals nothing.
    return hashlib.sha256(token.encode()).hexdigest()


# --- inbound tokens ---------------------------------------------------------------------------


async def _inbound_tokens(
    session: AsyncSession, box: SecretBox, tenant_id: str
) -> dict[PaymentProvider, str]:
    rows = await session.execute(
        select(InboundToken.provider, InboundToken.token_sealed).where(
            InboundToken.tenant_id == tenant_id
        )
    )
    return {provider: box.open(sealed) for provider, sealed in rows}


async def inbound_urls(
    session: AsyncSession, box: SecretBox, tenant_id: str, base_url: str
) -> list[InboundUrl] | None:
    """The tenant's inbound URL for each provider on `base_url`; None while its tokens are
    still to be made (`ensure_inbound_urls`)."""
    tokens = await _inbound_tokens(session, box, tenant_id)
    if len(tokens) < len(PaymentProvider):
        return None
    return _inbound_urls(base_url, tokens)


async def ensure_inbound_urls(
    session: AsyncSession, clock: Clock, box: SecretBox, tenant_id: str, base_url: str
) -> list[InboundUrl]:
    """`inbound_urls`, making the tokens the tenant lacks. A concurrent first read that made
    one first wins (the insert then does nothing), so a token never changes once made."""
    tokens = await _inbound_tokens(session, box, tenant_id)
    for provider in PaymentProvider:
        if provider in tokens:
            continue
        token = secrets.token_urlsafe(INBOUND_TOKEN_BYTES)
        statement = (
            insert_on_conflict(session, InboundToken)
            .values(
                tenant_id=tenant_id,
                provider=provider,
                token_sealed=box.seal(token),
                token_hash=_hash_token(token),
                created_at=clock.real_now(),
            )
            .on_conflict_do_nothing(index_elements=[InboundToken.tenant_id, InboundToken.provider])
        )
        await session.execute(statement)
    return _inbound_urls(base_url, await _inbound_tokens(session, box, tenant_id))


async def tenant_for_inbound_token(
    session: AsyncSession, provider: PaymentProvider | str, token: str
) -> str | None:
    """The tenant whose inbound URL for `provider` carries `token`; None for any other token
    (another provider's token, or a provider assina does not know, included)."""
    if provider not in set(PaymentProvider):
        return None
    found = await session.execute(
        select(InboundToken.tenant_id).where(
            InboundToken.token_hash == _hash_token(token),
            InboundToken.provider == provider,
        )
    )
    return found.scalar_one_or_none()


class InboundTokens:
    """`tenant_for_inbound_token` with a memory: a token is made once for one tenant and never
    changes hands (rotating the secret key reseals it, its hash stays), so what a process
    found it keeps, up to `capacity` tokens, and asks the database only about a token it has
    not met (an unknown one included: it is never remembered)."""

    def __init__(self, database: Database, capacity: int = 10_000) -> None:
        self._database = database
        self._capacity = capacity
        self._found: dict[tuple[str, str], str] = {}

    async def tenant_for(self, provider: str, token: str) -> str | None:
        key = (provider, _hash_token(token))
        if key in self._found:
            return self._found[key]
        async with self._database.read() as session:
            tenant_id = await tenant_for_inbound_token(session, provider, token)
        if tenant_id is not None:
            if len(self._found) >= self._capacity:
                self._found.clear()
            self._found[key] = tenant_id
        return tenant_id


def _inbound_urls(base_url: str, tokens: dict[PaymentProvider, str]) -> list[InboundUrl]:
    base = base_url.rstrip("/")
    return [
        InboundUrl(provider, f"{base}/v1/inbound/{provider.value}/{tokens[provider]}")
        for provider in PaymentProvider
    ]


# --- the settings -----------------------------------------------------------------------------


async def boleto_terms(session: AsyncSession, tenant_id: str) -> BankAgreement | None:
    """The bank agreement assina numbers the tenant's boletos under, when the tenant's boleto
    provider is the sandbox (which leaves the numbering to assina); None with Asaas (the
    provider numbers its boletos) or no provider."""
    choices = await payment_choices(session, tenant_id)
    if choices.boleto_provider != PaymentProvider.SANDBOX:
        return None
    return choices.boleto_bank


def _choices_of(row: PaymentSettings) -> PaymentChoices:
    bank = row.boleto_bank
    return PaymentChoices(
        card_provider=row.card_provider,
        boleto_provider=row.boleto_provider,
        boleto_bank=BankAgreement(**bank) if bank else None,
        pix_provider=row.pix_provider,
        card_retry_days=tuple(row.card_retry_days),
        asaas_environment=row.asaas_environment,
    )


async def payment_choices(session: AsyncSession, tenant_id: str) -> PaymentChoices:
    """The tenant's settings as the code reads them: stored, or its mode's defaults. One
    query: the tenant's mode and its settings."""
    found = await session.execute(
        select(Tenant.mode, PaymentSettings)
        .outerjoin(PaymentSettings, PaymentSettings.tenant_id == Tenant.id)
        .where(Tenant.id == tenant_id)
    )
    row = found.one_or_none()
    if row is None:  # no such tenant: nothing to pay through
        return default_choices(sandbox=False)
    mode, saved = row
    return default_choices(mode == TenantMode.SANDBOX) if saved is None else _choices_of(saved)


async def asaas_webhook_token(session: AsyncSession, box: SecretBox, tenant_id: str) -> str | None:
    """The token Asaas sends in `asaas-access-token` with the tenant's webhooks, if stored."""
    sealed = await session.scalar(
        select(PaymentSettings.asaas_webhook_token_sealed).where(
            PaymentSettings.tenant_id == tenant_id
        )
    )
    return box.open(sealed) if sealed else None


async def payment_view(
    session: AsyncSession, tenant: TenantContext, inbound: list[InboundUrl]
) -> PaymentView:
    """The tenant's settings as the API shows them (its mode's defaults when never saved)."""
    row = await session.get(PaymentSettings, tenant.tenant_id)
    if row is None:
        return PaymentView(default_choices(tenant.sandbox), None, False, False, inbound)
    return PaymentView(
        choices=_choices_of(row),
        api_key_last4=row.asaas_api_key_last4,
        api_key_set=row.asaas_api_key_sealed is not None,
        webhook_token_set=row.asaas_webhook_token_sealed is not None,
        inbound=inbound,
        updated_at=row.updated_at,
    )


def _sealed(box: SecretBox, plain: str | None) -> str | None:
    return box.seal(plain) if plain is not None else None


def _last_characters(api_key: str | None) -> str | None:
    # A short key is not half shown: its end stays hidden.
    if api_key is None or len(api_key) < MIN_LENGTH_SHOWING_LAST:
        return None
    return api_key[-LAST_CHARACTERS_SHOWN:]


def check_choices(tenant: TenantContext, choices: PaymentChoices, has_api_key: bool) -> None:
    """422 for settings the tenant cannot use: the sandbox on a live tenant, Asaas without an
    API key, the sandbox's boletos without a bank agreement."""
    for name, provider in choices.rails().items():
        if provider == PaymentProvider.SANDBOX and not tenant.sandbox:
            raise invalid(name, SANDBOX_ONLY)
        if provider == PaymentProvider.ASAAS and not has_api_key:
            raise invalid(name, "asaas needs an Asaas API key: send it in asaas.api_key")
    if choices.boleto_provider == PaymentProvider.SANDBOX and choices.boleto_bank is None:
        raise invalid("boleto.bank", "the sandbox issues boletos under a bank agreement: send one")


async def replace_payment_settings(
    session: AsyncSession,
    clock: Clock,
    box: SecretBox,
    tenant: TenantContext,
    params: PaymentSettingsIn,
) -> None:
    """Store the whole settings (an upsert, so concurrent first writes cannot collide); 422
    and nothing stored when the tenant cannot use them. A secret not sent is not touched: its
    sealed column stays as it is, neither opened nor sealed again."""
    choices = params.choices(tenant.sandbox)
    sent = params.sent_secrets()
    if "api_key" in sent:
        has_api_key = sent["api_key"] is not None
    else:
        has_api_key = await _stores_api_key(session, tenant.tenant_id)
    check_choices(tenant, choices, has_api_key)
    bank = choices.boleto_bank
    values: dict[str, Any] = {
        "card_provider": choices.card_provider,
        "card_retry_days": list(choices.card_retry_days),
        "boleto_provider": choices.boleto_provider,
        "boleto_bank": asdict(bank) if bank else None,
        "pix_provider": choices.pix_provider,
        "asaas_environment": choices.asaas_environment,
        "updated_at": clock.now(),
    }
    if "api_key" in sent:
        values["asaas_api_key_sealed"] = _sealed(box, sent["api_key"])
        values["asaas_api_key_last4"] = _last_characters(sent["api_key"])
    if "webhook_token" in sent:
        values["asaas_webhook_token_sealed"] = _sealed(box, sent["webhook_token"])
    table = cast(Table, PaymentSettings.__table__)
    statement = (
        insert_on_conflict(session, table)
        .values(tenant_id=tenant.tenant_id, **values)
        .on_conflict_do_update(index_elements=[table.c.tenant_id], set_=values)
    )
    await session.execute(statement)


async def _stores_api_key(session: AsyncSession, tenant_id: str) -> bool:
    stored = await session.scalar(
        select(PaymentSettings.asaas_api_key_sealed.is_not(None)).where(
            PaymentSettings.tenant_id == tenant_id
        )
    )
    return bool(stored)
