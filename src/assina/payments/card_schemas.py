"""What the saved-cards API takes and answers. A card is saved from a provider's token, or (the
sandbox only) from its number; the number and the CVC are read in this request only."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from assina.core.inputs import InputModel, Name, not_sent, sent
from assina.payments.models import CustomerCard
from assina.rules.cards import CardBrand

# What a card form sends as its number: digits, spaces and hyphens (19 digits at most).
NUMBER_PATTERN = "^[0-9 -]{1,40}$"
CVC_PATTERN = "^[0-9]{3,4}$"
TOKEN_PATTERN = "^[!-~]{1,512}$"  # noqa: S105 (printable ASCII, no spaces: not a secret)
LAST4_PATTERN = "^[0-9]{4}$"
NUMBER_FIELDS = ("number", "exp_month", "exp_year", "cvc", "holder_name")


class CardIn(InputModel):
    """Either `token` (the provider's, made in the payer's browser) or the card as typed:
    `number, exp_month, exp_year, cvc, holder_name` (the sandbox card provider only). With an
    Asaas token, `brand, last4, exp_month, exp_year` too: Asaas does not tell them back."""

    token: str | None = Field(
        default=None,
        pattern=TOKEN_PATTERN,
        description="The card provider's token: `tok_sbx_…` from the sandbox, or Asaas's "
        "creditCardToken.",
    )
    number: str | None = Field(
        default=None,
        pattern=NUMBER_PATTERN,
        description="Sandbox only. Never stored: assina keeps its last 4 digits.",
        examples=["4111 1111 1111 1111"],
    )
    exp_month: int | None = Field(default=None, ge=1, le=12)
    exp_year: int | None = Field(default=None, ge=1000, le=9999, description="4 digits: 2031.")
    cvc: str | None = Field(
        default=None, pattern=CVC_PATTERN, description="Sandbox only. Never stored."
    )
    holder_name: Name | None = None
    brand: CardBrand | None = Field(default=None, description="With an Asaas token only.")
    last4: str | None = Field(
        default=None, pattern=LAST4_PATTERN, description="With an Asaas token only."
    )
    default: bool | None = Field(
        default=None,
        description="true: the new card becomes the customer's default (the others stop "
        "being it). A customer's first card is its default anyway.",
    )

    @classmethod
    def document_rules(cls, schema: dict[str, Any]) -> None:
        number_form = sent(*NUMBER_FIELDS)
        number_form["properties"].update(not_sent("token", "brand", "last4")["properties"])
        token_form = sent("token")
        token_form["properties"].update(not_sent("number", "cvc", "holder_name")["properties"])
        schema["anyOf"] = [token_form, number_form]

    @model_validator(mode="after")
    def _one_form(self) -> CardIn:
        # The messages name fields, never their values: a card number is never echoed back.
        if self.token is not None:
            extra = [n for n in ("number", "cvc", "holder_name") if getattr(self, n) is not None]
            if extra:
                raise ValueError(f"send either a token or a card number, not {', '.join(extra)}")
            return self
        missing = [name for name in NUMBER_FIELDS if getattr(self, name) is None]
        if missing:
            raise ValueError(
                f"send a token, or a card's {', '.join(NUMBER_FIELDS)} (missing: "
                f"{', '.join(missing)})"
            )
        if self.brand is not None or self.last4 is not None:
            raise ValueError("brand and last4 go with a token only")
        return self


class CardOut(BaseModel):
    object: Literal["card"] = "card"
    id: str
    customer_id: str
    brand: CardBrand
    last4: str
    exp_month: int
    exp_year: int
    default: bool = Field(description="The card a charge uses when it names none.")
    created_at: datetime

    @classmethod
    def of(cls, card: CustomerCard) -> CardOut:
        return cls(
            id=card.id,
            customer_id=card.customer_id,
            brand=CardBrand(card.brand),
            last4=card.last4,
            exp_month=card.exp_month,
            exp_year=card.exp_year,
            default=card.is_default,
            created_at=card.created_at,
        )
