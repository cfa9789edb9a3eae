"""Pure rules of the notas fiscais de serviço (NFS-e): the IBGE municipality code's check
digit, the Padrão Nacional's access key (chave de acesso) and its check digit, the ISS of an
amount. No I/O.

- IBGE municipality code: 7 digits, the first two the state's (UF) code; the 7th is a check
  digit over the first six, weights 1,2,1,2,1,2, each product's digits summed (Luhn-like),
  DV = (10 - sum mod 10) mod 10. A handful of codes IBGE issued do not follow the rule; they
  are accepted as they are (`IBGE_IRREGULAR`).
- Access key of the national NFS-e (50 digits): cLocEmi (7, the IBGE code of the issuing
  municipality) + tpAmb (1: 1 production, 2 homologação) + tpInscFed (1: 1 CPF, 2 CNPJ) +
  inscFed (14, the emitter's CPF or CNPJ, zero-padded) + nNFSe (13) + AAMM (4, the issue's
  year and month) + cNum (9, a random number) + DV (1). DV: modulo 11 over the first 49
  digits, weights 2 to 9 from the right and again, remainder 0 or 1 → 0, else 11 -
  remainder (the rule of the NF-e's key, which the national NFS-e keeps).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

# States' IBGE codes (the first two digits of a municipality's code).
UF_CODES = frozenset(
    {11, 12, 13, 14, 15, 16, 17, 21, 22, 23, 24, 25, 26, 27, 28, 29, 31, 32, 33, 35}
    | {41, 42, 43, 50, 51, 52, 53}
)
# Municipalities whose IBGE code does not carry the check digit the rule gives.
IBGE_IRREGULAR = frozenset(
    {"2201919", "2201988", "2202251", "2611533", "3117836", "3152131", "4305871"}
    | {"5203939", "5203962"}
)
ACCESS_KEY_LENGTH = 50
PRODUCTION, HOMOLOGATION = 1, 2
BY_CPF, BY_CNPJ = 1, 2


def ibge_check_digit(first_six: str) -> int:
    total = 0
    for position, char in enumerate(first_six):
        product = int(char) * (1 if position % 2 == 0 else 2)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10


def is_valid_municipality_code(code: str) -> bool:
    """Whether `code` is an IBGE municipality code: 7 digits, a state's prefix, its check
    digit (or one of the few codes issued without it)."""
    if len(code) != 7 or not code.isascii() or not code.isdigit():
        return False
    if int(code[:2]) not in UF_CODES:
        return False
    return code in IBGE_IRREGULAR or ibge_check_digit(code[:6]) == int(code[6])


def modulo_11_digit(digits: str) -> int:
    """The check digit of `digits`: weights 2..9 from the right, cycling; remainder 0 or 1
    gives 0, else 11 - remainder."""
    total = sum(int(char) * (2 + index % 8) for index, char in enumerate(reversed(digits)))
    remainder = total % 11
    return 0 if remainder < 2 else 11 - remainder


def access_key(
    municipality_code: str,
    environment: int,
    federal_id: str,
    nfse_number: int,
    year: int,
    month: int,
    random_number: int,
) -> str:
    """The 50-digit chave de acesso of an NFS-e (see the module's docstring)."""
    if not is_valid_municipality_code(municipality_code):
        raise ValueError("not an IBGE municipality code")
    if environment not in (PRODUCTION, HOMOLOGATION):
        raise ValueError("environment is 1 (production) or 2 (homologação)")
    if len(federal_id) not in (11, 14) or not federal_id.isdigit():
        raise ValueError("the emitter's CPF or CNPJ, digits only")
    if not 0 < nfse_number < 10**13 or not 0 <= random_number < 10**9:
        raise ValueError("the NFS-e number has 13 digits at most, the random number 9")
    kind = BY_CPF if len(federal_id) == 11 else BY_CNPJ
    body = (
        f"{municipality_code}{environment}{kind}{federal_id.zfill(14)}{nfse_number:013d}"
        f"{year % 100:02d}{month:02d}{random_number:09d}"
    )
    return body + str(modulo_11_digit(body))


def is_valid_access_key(key: str) -> bool:
    return (
        len(key) == ACCESS_KEY_LENGTH
        and key.isascii()
        and key.isdigit()
        and modulo_11_digit(key[:-1]) == int(key[-1])
    )


def iss_amount(amount: int, rate_bp: int) -> int:
    """The ISS of `amount` (minor units) at `rate_bp` basis points, half-even to the centavo."""
    exact = Decimal(amount) * Decimal(rate_bp) / Decimal(10_000)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
