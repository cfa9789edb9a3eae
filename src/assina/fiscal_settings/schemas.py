"""A tenant's fiscal settings: the issuer, the emitter's identity, the service invoiced and its
ISS, and whether a settled charge is invoiced by itself.

`FiscalRules` is what the rest of the code reads (service.py `fiscal_rules`); a tenant
without a stored row has the defaults (the sandbox issuer, nothing else set, no auto-issue).
`GET/PUT /v1/fiscal-settings` (api.py) show and replace the row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from assina.core.documents import is_valid_cnpj, only_digits
from assina.core.inputs import VISIBLE_CHARACTER, InputModel
from assina.fiscal_settings.models import FiscalProvider
from assina.rules.fiscal import is_valid_municipality_code

MAX_ISS_RATE_BP = 500  # 5 %: the ISS's ceiling (LC 116/2003, art. 8)
MAX_SERVICE_DESCRIPTION = 2000  # the DPS's xDescServ
# Text the DPS carries: no control character but line breaks and tabs (XML 1.0 holds no other).
_XML_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class FiscalRules:
    provider: FiscalProvider = FiscalProvider.SANDBOX
    cnpj: str | None = None
    municipal_registration: str | None = None
    municipality_code: str | None = None
    service_code: str | None = None
    service_description: str | None = None
    iss_rate_bp: int = 0
    iss_retained: bool = False
    auto_issue: bool = False

    @property
    def missing(self) -> list[str]:
        """The settings an invoice cannot be issued without, still unset."""
        needed = {
            "cnpj": self.cnpj,
            "municipality_code": self.municipality_code,
            "service_code": self.service_code,
        }
        return [name for name, value in needed.items() if value is None]


DEFAULT_FISCAL_RULES = FiscalRules()


def _cnpj(value: str) -> str:
    digits = only_digits(value)
    if not is_valid_cnpj(digits):
        raise ValueError("must be a CNPJ (14 digits) whose check digits match")
    return digits


def _municipality(value: str) -> str:
    if not is_valid_municipality_code(value):
        raise ValueError("must be an IBGE municipality code: 7 digits with its check digit")
    return value


def _description(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    if _XML_UNSAFE.search(value):
        raise ValueError("must not contain control characters (line breaks and tabs are fine)")
    return value


Cnpj = Annotated[
    str,
    Field(max_length=18, description="The emitter's CNPJ (punctuation allowed)."),
    AfterValidator(_cnpj),
]
MunicipalityCode = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{7}$",
        description="IBGE code of the municipality (7 digits, the last a check digit).",
    ),
    AfterValidator(_municipality),
]
ServiceCode = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{6}$",
        description="cTribNac: the national service code (6 digits: item, subitem, detail).",
    ),
]
MunicipalRegistration = Annotated[
    str, Field(min_length=1, max_length=15, pattern=r"^[0-9A-Za-z./-]+$")
]
# Text that XML 1.0 takes (no control character but tab and line breaks) with something
# visible: the schema states what _description checks.
_XML_TEXT = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
SERVICE_DESCRIPTION_PATTERN = f"^{_XML_TEXT}*{VISIBLE_CHARACTER}{_XML_TEXT}*$"
ServiceDescription = Annotated[
    str,
    Field(max_length=MAX_SERVICE_DESCRIPTION, pattern=SERVICE_DESCRIPTION_PATTERN),
    AfterValidator(_description),
]


class FiscalSettingsIn(InputModel):
    """The whole settings: a field left out takes its default."""

    model_config = ConfigDict(extra="forbid")

    provider: FiscalProvider = FiscalProvider.SANDBOX
    cnpj: Cnpj | None = None
    municipal_registration: MunicipalRegistration | None = None
    municipality_code: MunicipalityCode | None = None
    service_code: ServiceCode | None = None
    service_description: ServiceDescription | None = Field(
        default=None, description="What invoices say was provided, unless a request says."
    )
    iss_rate_bp: int = Field(
        default=0, strict=True, ge=0, le=MAX_ISS_RATE_BP, description="ISS rate, basis points."
    )
    iss_retained: bool = Field(default=False, strict=True)
    auto_issue: bool = Field(
        default=False, strict=True, description="Invoice every charge when it is settled."
    )

    def rules(self) -> FiscalRules:
        return FiscalRules(**self.model_dump())


class FiscalSettingsOut(BaseModel):
    provider: FiscalProvider
    cnpj: str | None
    municipal_registration: str | None
    municipality_code: str | None
    service_code: str | None
    service_description: str | None
    iss_rate_bp: int
    iss_retained: bool
    auto_issue: bool
    updated_at: datetime | None = Field(description="null while the defaults were never changed")

    @classmethod
    def of(cls, rules: FiscalRules, updated_at: datetime | None) -> FiscalSettingsOut:
        return cls(
            provider=rules.provider,
            cnpj=rules.cnpj,
            municipal_registration=rules.municipal_registration,
            municipality_code=rules.municipality_code,
            service_code=rules.service_code,
            service_description=rules.service_description,
            iss_rate_bp=rules.iss_rate_bp,
            iss_retained=rules.iss_retained,
            auto_issue=rules.auto_issue,
            updated_at=updated_at,
        )
