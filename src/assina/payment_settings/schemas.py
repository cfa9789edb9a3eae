"""A tenant's payment settings: the provider of each rail (card, boleto, PIX), the card retry
days, the boleto bank agreement, the Asaas credentials (write-only), the inbound URLs.

`PUT` replaces the whole: a section or field left out takes the tenant's default (its mode's:
a sandbox tenant gets the sandbox providers and a sandbox bank agreement, a live tenant no
provider), except the Asaas secrets, which are write-only: left out keeps the stored one,
`null` removes it, a string replaces it (as Stripe's write-only fields do).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Annotated, Literal, cast

from pydantic import AfterValidator, BaseModel, Field, model_validator

from assina.core.inputs import InputModel
from assina.payment_settings.models import AsaasEnvironment, PaymentProvider
from assina.rules.boleto import free_field

DEFAULT_RETRY_DAYS = (1, 3, 5)
MAX_RETRY_DAYS = 6
MAX_SECRET_LENGTH = 500
# The nosso número the bank data is checked with: any valid one would do.
PROBE_OUR_NUMBER = "1"
# What the sandbox issues boletos with: Banco do Brasil, convênio 1234567, carteira 17.
SANDBOX_BANK_CODE = "001"
SANDBOX_AGREEMENT = "1234567"
SANDBOX_WALLET = "17"

SANDBOX_ONLY = "the sandbox providers serve sandbox tenants only"

# --- what the code reads ----------------------------------------------------------------------


@dataclass(frozen=True)
class BankAgreement:
    """The beneficiary's agreement with the bank that issues its boletos (convênio, carteira,
    agência, conta), as `rules.boleto.free_field` takes it."""

    code: str
    agreement: str
    wallet: str
    agency: str | None = None
    account: str | None = None

    def check(self) -> None:
        """ValueError when the bank's layout refuses these terms (a free field cannot be built)."""
        free_field(
            self.code,
            agreement=self.agreement,
            our_number=PROBE_OUR_NUMBER,
            wallet=self.wallet,
            agency=self.agency,
            account=self.account,
        )


SANDBOX_BANK = BankAgreement(SANDBOX_BANK_CODE, SANDBOX_AGREEMENT, SANDBOX_WALLET)


@dataclass(frozen=True)
class PaymentChoices:
    """The non-secret settings, as stored and as the rest of the code will read them."""

    card_provider: PaymentProvider | None
    boleto_provider: PaymentProvider | None
    boleto_bank: BankAgreement | None
    pix_provider: PaymentProvider | None
    card_retry_days: tuple[int, ...] = DEFAULT_RETRY_DAYS
    asaas_environment: AsaasEnvironment = AsaasEnvironment.SANDBOX

    def rails(self) -> dict[str, PaymentProvider | None]:
        """Each rail's provider, by the name of its field in the API."""
        return {
            "card.provider": self.card_provider,
            "boleto.provider": self.boleto_provider,
            "pix.provider": self.pix_provider,
        }


def default_choices(sandbox: bool) -> PaymentChoices:
    """A sandbox tenant pays through the sandbox on every rail; a live one has no provider
    (charges are settled by hand) until it chooses one."""
    if sandbox:
        provider = PaymentProvider.SANDBOX
        return PaymentChoices(provider, provider, SANDBOX_BANK, provider)
    return PaymentChoices(None, None, None, None)


@dataclass(frozen=True)
class InboundUrl:
    provider: PaymentProvider
    url: str


@dataclass(frozen=True)
class PaymentView:
    """What the API shows: the choices, which secrets are stored, the inbound URLs."""

    choices: PaymentChoices
    api_key_last4: str | None
    api_key_set: bool
    webhook_token_set: bool
    inbound: list[InboundUrl] = field(default_factory=list)
    updated_at: datetime | None = None


# --- request bodies -------------------------------------------------------------------------


def _strictly_increasing(days: list[int]) -> list[int]:
    if any(later <= earlier for earlier, later in pairwise(days)):
        raise ValueError("must be strictly increasing (each day after the one before)")
    return days


RetryDay = Annotated[int, Field(strict=True, ge=1, le=30)]
RetryDays = Annotated[
    list[RetryDay],
    Field(
        max_length=MAX_RETRY_DAYS,
        description="Days after the due date on which a declined card is tried again: 0 to "
        f"{MAX_RETRY_DAYS} days, each 1 to 30, strictly increasing.",
        examples=[list(DEFAULT_RETRY_DAYS)],
    ),
    AfterValidator(_strictly_increasing),
]
BankText = Annotated[str, Field(min_length=1, max_length=20)]
# Printable ASCII without spaces: what API keys and tokens are made of.
SECRET_PATTERN = rf"^[!-~]{{1,{MAX_SECRET_LENGTH}}}$"
Secret = Annotated[
    str,
    Field(min_length=1, max_length=MAX_SECRET_LENGTH, pattern=SECRET_PATTERN),
]


class BankIn(InputModel):
    """The beneficiary's agreement with its bank, checked by building a boleto free field
    (only Banco do Brasil, `001`, has a layout yet)."""

    code: BankText = Field(description="The bank's 3-digit code (`001`: Banco do Brasil).")
    agreement: BankText = Field(description="Convênio (Banco do Brasil: 6, 7 or 8 digits).")
    wallet: BankText = Field(description="Carteira (Banco do Brasil: up to 2 digits).")
    agency: BankText | None = Field(
        default=None, description="Agência (Banco do Brasil: needed with a 6-digit convênio)."
    )
    account: BankText | None = Field(
        default=None, description="Conta (Banco do Brasil: needed with a 6-digit convênio)."
    )

    def agreement_terms(self) -> BankAgreement:
        return BankAgreement(self.code, self.agreement, self.wallet, self.agency, self.account)

    @model_validator(mode="after")
    def _layout_accepts(self) -> BankIn:
        self.agreement_terms().check()  # its ValueError names what is wrong
        return self


PROVIDER_DESCRIPTION = (
    "`sandbox` (sandbox tenants only), `asaas` (needs an Asaas API key), or null: no provider, "
    "charges are settled by hand. Left out: the tenant's default (sandbox tenants: `sandbox`; "
    "live tenants: null)."
)


class CardIn(InputModel):
    provider: PaymentProvider | None = Field(default=None, description=PROVIDER_DESCRIPTION)
    retry_days: RetryDays = list(DEFAULT_RETRY_DAYS)


class BoletoIn(InputModel):
    provider: PaymentProvider | None = Field(default=None, description=PROVIDER_DESCRIPTION)
    bank: BankIn | None = Field(
        default=None,
        description="The bank agreement the boletos are issued under; the `sandbox` provider "
        "needs one. Left out: the tenant's default (sandbox tenants: Banco do Brasil, convênio "
        "1234567, carteira 17; live tenants: null).",
    )


class PixIn(InputModel):
    provider: PaymentProvider | None = Field(default=None, description=PROVIDER_DESCRIPTION)


class AsaasIn(InputModel):
    environment: AsaasEnvironment = AsaasEnvironment.SANDBOX
    api_key: Secret | None = Field(
        default=None,
        description="Write-only: left out keeps the stored key, null removes it, a string "
        "replaces it. Never answered.",
    )
    webhook_token: Secret | None = Field(
        default=None,
        description="The `asaas-access-token` Asaas sends with its notifications. Write-only, "
        "as `api_key`.",
    )


class PaymentSettingsIn(InputModel):
    """The whole settings: a section or field left out takes the tenant's default; the Asaas
    secrets left out are kept."""

    card: CardIn | None = None
    boleto: BoletoIn | None = None
    pix: PixIn | None = None
    asaas: AsaasIn | None = None

    def choices(self, sandbox: bool) -> PaymentChoices:
        """The settings asked for, each field left out taken from the tenant's defaults."""
        default = default_choices(sandbox)
        card, boleto, pix = self.card, self.boleto, self.pix
        return PaymentChoices(
            card_provider=_chosen(card, default.card_provider),
            boleto_provider=_chosen(boleto, default.boleto_provider),
            boleto_bank=_bank(boleto, default.boleto_bank),
            pix_provider=_chosen(pix, default.pix_provider),
            card_retry_days=tuple(card.retry_days) if card else DEFAULT_RETRY_DAYS,
            asaas_environment=self.asaas.environment if self.asaas else AsaasEnvironment.SANDBOX,
        )

    def sent_secrets(self) -> dict[str, str | None]:
        """The Asaas secrets this request sets (null: removes); one left out is not here."""
        if self.asaas is None:
            return {}
        sent = self.asaas.model_dump(include={"api_key", "webhook_token"}, exclude_unset=True)
        return cast(dict[str, str | None], sent)


def _chosen(
    section: CardIn | BoletoIn | PixIn | None, default: PaymentProvider | None
) -> PaymentProvider | None:
    # A provider left out is the default; an explicit null is "no provider".
    if section is None or "provider" not in section.model_fields_set:
        return default
    return section.provider


def _bank(section: BoletoIn | None, default: BankAgreement | None) -> BankAgreement | None:
    if section is None or "bank" not in section.model_fields_set:
        return default
    return section.bank.agreement_terms() if section.bank else None


# --- response bodies ------------------------------------------------------------------------


class BankOut(BaseModel):
    code: str = Field(examples=[SANDBOX_BANK_CODE])
    agreement: str = Field(examples=[SANDBOX_AGREEMENT])
    wallet: str = Field(examples=[SANDBOX_WALLET])
    agency: str | None
    account: str | None


class CardOut(BaseModel):
    provider: PaymentProvider | None
    retry_days: list[int] = Field(examples=[list(DEFAULT_RETRY_DAYS)])


class BoletoOut(BaseModel):
    provider: PaymentProvider | None
    bank: BankOut | None


class PixOut(BaseModel):
    provider: PaymentProvider | None


class AsaasOut(BaseModel):
    environment: AsaasEnvironment
    api_key_set: bool = Field(description="An API key is stored (it is never answered).")
    api_key_last4: str | None = Field(
        description="The stored key's last 4 characters, to tell keys apart."
    )
    webhook_token_set: bool = Field(description="A webhook token is stored (never answered).")


class InboundOut(BaseModel):
    provider: PaymentProvider
    url: str = Field(
        description="Give this URL to the provider for its payment notifications; it carries "
        "a secret token, so keep it as you keep an API key.",
        examples=["https://assina.example.com/v1/inbound/asaas/2bQx…"],
    )


class PaymentSettingsOut(BaseModel):
    object: Literal["payment_settings"] = "payment_settings"
    card: CardOut
    boleto: BoletoOut
    pix: PixOut
    asaas: AsaasOut
    inbound: list[InboundOut]
    updated_at: datetime | None = Field(description="null while the defaults were never changed")

    @classmethod
    def of(cls, view: PaymentView) -> PaymentSettingsOut:
        choices, bank = view.choices, view.choices.boleto_bank
        return cls(
            card=CardOut(provider=choices.card_provider, retry_days=list(choices.card_retry_days)),
            boleto=BoletoOut(
                provider=choices.boleto_provider,
                bank=BankOut(**asdict(bank)) if bank else None,
            ),
            pix=PixOut(provider=choices.pix_provider),
            asaas=AsaasOut(
                environment=choices.asaas_environment,
                api_key_set=view.api_key_set,
                api_key_last4=view.api_key_last4,
                webhook_token_set=view.webhook_token_set,
            ),
            inbound=[InboundOut(provider=i.provider, url=i.url) for i in view.inbound],
            updated_at=view.updated_at,
        )
