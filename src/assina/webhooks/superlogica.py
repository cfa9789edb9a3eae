"""The `superlogica` delivery format (product.md §4): pure functions building the form body.

Receivers written for Superlógica read `$_POST['validationtoken']` and `$_POST['data'][...]`,
so the body is `validationtoken=<token>&data[<column>]=<value>...`, encoded exactly as PHP's
`http_build_query` does with PHP_QUERY_RFC1738. There is no event name in the body: such
receivers use one URL per event.

`php_build_query` rules (PHP 8, ext/standard/http.c):

- Pairs are joined with `&`, in the mapping's own order.
- Keys and string values are encoded like PHP's `urlencode`: ASCII letters, digits and `-_.`
  stay, a space becomes `+`, every other UTF-8 byte becomes `%XX` (upper case), `~` included.
- A nested mapping or list under key `k` writes its entries as `k%5Bsub%5D=...` (the brackets
  are written already percent-encoded, as PHP does); lists use their indexes 0, 1, ...
- An empty mapping or list writes nothing, and `None` is skipped (PHP skips null).
- `True` is written `1`, `False` `0`, ints in decimal. Floats and other types raise
  `TypeError`: money must go through `money()` first, never through a float.
- `numeric_prefix` is put before top-level integer keys only, as PHP's second argument.

Columns written (every column is always present; a missing value is an empty string, so that
a PHP receiver indexing `$data['st_email_sac']` never meets an undefined index):

- customer: `id_sacado_sac` (number), `st_sincro_sac` (our public id, e.g. `cus_...`, for
  receivers that call our API back), `st_nome_sac`, `st_email_sac`, `st_cgc_sac` (CPF/CNPJ
  digits), `st_telefone_sac`, `st_cep_sac`, `st_endereco_sac`, `st_numero_sac`,
  `st_complemento_sac`, `st_bairro_sac`, `st_cidade_sac`, `st_estado_sac`, `st_pais_sac`,
  `dt_cadastro_sac` (created_at), `fl_status_sac`: 0 active, 1 inactive, 2 delinquent,
  3 suspended.
- product: `id_produto_prd` (number), `st_sincro_prd` (our public id, `prd_...`),
  `st_nome_prd`, `st_descricao_prd`, `vl_unitario_prd` (amount, decimal string with the
  currency's minor-unit exponent), `dt_cadastro_prd` (created_at), `fl_status_prd`:
  0 active, 1 inactive.
- contract (a customer's plan): `id_planocliente_plc` (number), `st_sincro_plc` (`ctr_...`),
  `id_sacado_sac` (the customer's number), `st_sincro_sac`, `st_nome_pla` (the first item's
  description), `vl_total_plc`, `dt_contrato_plc` (start_date), `dt_fimtrial_plc`,
  `nm_diavencimento_plc` (billing_day), `dt_proximovencimento_plc` (next_charge_date),
  `dt_cancelamento_plc`, `st_motivocancelamento_plc`, `st_formapagamento_plc`,
  `fl_status_plc`: 0 active, 1 trialing, 2 suspended, 3 cancelled; items as
  `compo_plano[i][...]`.
- charge (recebimento): `id_recebimento_recb` (number), `st_sincro_recb` (`chg_...`),
  `id_sacado_sac`, `st_sincro_sac`, `st_sincro_plc` (the contract's id), `dt_geracao_recb`
  (created_at), `dt_vencimento_recb`, `dt_liquidacao_recb`, `vl_emitido_recb` (amount),
  `vl_total_recb` (settled_amount once settled, else amount), `vl_txmulta_recb`,
  `vl_txjuros_recb`, `st_formapagamento_recb`, `st_pixqrcode_recb`,
  `st_linhadigitavel_recb`, `link_2via` (the payment page, `payment_url`; empty once the
  charge is not open), `fl_status_recb`: 0 open, 1 settled, 2 invalidated, 3 reversed;
  items as `compo_recebimento[i][...]`.
- items (`compo_plano`, `compo_recebimento`): `st_sincro_prd`, `st_nome_pla` (the item's
  description), `nm_quantidade_comp`, `vl_unitario_comp`, `vl_total_comp`.

Money is `223.55` (a point, no thousands separator, exact from integer minor units); dates
are `MM/DD/YYYY` in the tenant's time zone. `card.declined` adds a top-level `tentativa`.
Expenses, orders, invoices and cards are not mapped yet: they raise `UnsupportedFormat`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, tzinfo
from typing import Any

from assina.core.clock import local_date
from assina.core.money import MINOR_UNIT_EXPONENT

CARD_DECLINED = "card.declined"

CUSTOMER_STATUS_CODES: dict[str, str] = {
    "active": "0",
    "inactive": "1",
    "delinquent": "2",
    "suspended": "3",
}
PRODUCT_STATUS_CODES: dict[str, str] = {"active": "0", "inactive": "1"}
CONTRACT_STATUS_CODES: dict[str, str] = {
    "active": "0",
    "trialing": "1",
    "suspended": "2",
    "cancelled": "3",
}
CHARGE_STATUS_CODES: dict[str, str] = {
    "open": "0",
    "settled": "1",
    "invalidated": "2",
    "reversed": "3",
}

# Bytes PHP's urlencode leaves alone; note that `~` is not among them (rawurlencode keeps it).
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
_OPEN, _CLOSE = "%5B", "%5D"


class UnsupportedFormat(ValueError):
    """The event type has no `superlogica` mapping (yet)."""


# --- http_build_query ---------------------------------------------------------------------


def php_urlencode(text: str) -> str:
    """PHP's `urlencode` (RFC 1738 flavour) over the UTF-8 bytes of `text`."""
    out: list[str] = []
    for byte in text.encode("utf-8"):
        if byte in _UNRESERVED:
            out.append(chr(byte))
        elif byte == 0x20:
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def php_build_query(params: Mapping[str, object], numeric_prefix: str = "") -> str:
    """PHP's `http_build_query($params, $numeric_prefix)` with PHP_QUERY_RFC1738."""
    pairs: list[str] = []
    for key, value in _entries(params):
        # PHP puts the numeric prefix raw (not encoded) before top-level integer keys only.
        name = numeric_prefix + str(key) if isinstance(key, int) else php_urlencode(key)
        _append(pairs, name, value)
    return "&".join(pairs)


def _entries(container: object) -> list[tuple[str | int, object]]:
    if isinstance(container, Mapping):
        return [(_key(k), v) for k, v in container.items()]
    if isinstance(container, list | tuple):
        return list(enumerate(container))
    raise TypeError(f"not a mapping or list: {type(container).__name__}")


def _key(key: object) -> str | int:
    # PHP array keys are strings or integers; a bool key would become 0/1 in PHP, which is
    # surely a caller's mistake here, so it is refused along with every other type.
    if isinstance(key, bool) or not isinstance(key, str | int):
        raise TypeError(f"form keys must be str or int, not {type(key).__name__}")
    return key


def _append(pairs: list[str], name: str, value: object) -> None:
    """Append `name=value`, or the entries of a container under `name[...]`."""
    if value is None:
        return
    if isinstance(value, Mapping | list | tuple):
        for key, item in _entries(value):
            sub = str(key) if isinstance(key, int) else php_urlencode(key)
            _append(pairs, f"{name}{_OPEN}{sub}{_CLOSE}", item)
        return
    pairs.append(f"{name}={_scalar(value)}")


def _scalar(value: object) -> str:
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return php_urlencode(value)
    raise TypeError(f"cannot form-encode a {type(value).__name__}; convert it to str first")


# --- values -------------------------------------------------------------------------------


def money(amount_minor: int, exponent: int = 2) -> str:
    """Integer minor units as a decimal string with a point: 22355 -> "223.55", exactly."""
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int):
        raise TypeError("amount_minor must be an int of minor units")
    if exponent < 0:
        raise ValueError("exponent must be >= 0")
    sign = "-" if amount_minor < 0 else ""
    whole, fraction = divmod(abs(amount_minor), 10**exponent)
    if exponent == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{fraction:0{exponent}d}"


def us_date(value: date | datetime, time_zone: str | tzinfo) -> str:
    """`MM/DD/YYYY`; a datetime is first converted to the tenant's zone, since the day a
    receiver shows is the tenant's local day, not UTC's."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime: the instant it names is unknown")
        value = local_date(value, time_zone)
    return f"{value.month:02d}/{value.day:02d}/{value.year:04d}"


def _snapshot_date(value: object, time_zone: str | tzinfo) -> str:
    """A date or datetime from a JSON snapshot (ISO string) or a Python dump; None -> ""."""
    if value is None:
        return ""
    if isinstance(value, str):
        # A bare date must stay a date: fromisoformat on a datetime would make it midnight
        # of an unknown zone.
        value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    if not isinstance(value, date):
        raise TypeError(f"not a date: {value!r}")
    return us_date(value, time_zone)


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _code(codes: Mapping[str, str], status: object, kind: str) -> str:
    try:
        return codes[str(status)]
    except KeyError:
        raise ValueError(f"unknown {kind} status {status!r}") from None


# --- objects ------------------------------------------------------------------------------


def _currency_exponent(snapshot: Mapping[str, Any]) -> int:
    currency = str(snapshot.get("currency", "BRL")).upper()
    if currency not in MINOR_UNIT_EXPONENT:
        raise ValueError(f"unknown currency {currency!r}")
    return MINOR_UNIT_EXPONENT[currency]


def customer_fields(customer: Mapping[str, Any], time_zone: str | tzinfo) -> dict[str, str]:
    """A customer snapshot (CustomerOut JSON) in Superlógica's `_sac` columns."""
    address: Mapping[str, Any] = customer.get("address") or {}
    return {
        "id_sacado_sac": str(customer["number"]),
        "st_sincro_sac": _text(customer.get("id")),
        "st_nome_sac": _text(customer.get("name")),
        "st_email_sac": _text(customer.get("email")),
        "st_cgc_sac": _text(customer.get("document")),
        "st_telefone_sac": _text(customer.get("phone")),
        "st_cep_sac": _text(address.get("postal_code")),
        "st_endereco_sac": _text(address.get("street")),
        "st_numero_sac": _text(address.get("number")),
        "st_complemento_sac": _text(address.get("complement")),
        "st_bairro_sac": _text(address.get("district")),
        "st_cidade_sac": _text(address.get("city")),
        "st_estado_sac": _text(address.get("state")),
        "st_pais_sac": _text(address.get("country")),
        "dt_cadastro_sac": _snapshot_date(customer.get("created_at"), time_zone),
        "fl_status_sac": _code(CUSTOMER_STATUS_CODES, customer.get("status"), "customer"),
    }


def product_fields(product: Mapping[str, Any], time_zone: str | tzinfo) -> dict[str, str]:
    """A product snapshot (ProductOut JSON) in Superlógica's `_prd` columns."""
    exponent = _currency_exponent(product)
    return {
        "id_produto_prd": str(product["number"]),
        "st_sincro_prd": _text(product.get("id")),
        "st_nome_prd": _text(product.get("name")),
        "st_descricao_prd": _text(product.get("description")),
        "vl_unitario_prd": money(product["amount"], exponent),
        "dt_cadastro_prd": _snapshot_date(product.get("created_at"), time_zone),
        "fl_status_prd": _code(PRODUCT_STATUS_CODES, product.get("status"), "product"),
    }


def _composition(items: object, exponent: int) -> list[dict[str, str]]:
    """Line items as Superlógica's composition rows (`compo_recebimento`, `compo_plano`)."""
    rows = []
    for item in items if isinstance(items, list) else []:
        quantity, unit = int(item["quantity"]), int(item["amount"])
        rows.append(
            {
                "st_sincro_prd": _text(item.get("product_id")),
                "st_nome_pla": _text(item.get("description")),
                "nm_quantidade_comp": str(quantity),
                "vl_unitario_comp": money(unit, exponent),
                "vl_total_comp": money(quantity * unit, exponent),
            }
        )
    return rows


def _customer_columns(snapshot: Mapping[str, Any], customer_number: int | None) -> dict[str, str]:
    return {
        "id_sacado_sac": "" if customer_number is None else str(customer_number),
        "st_sincro_sac": _text(snapshot.get("customer_id")),
    }


def contract_fields(
    contract: Mapping[str, Any], time_zone: str | tzinfo, customer_number: int | None = None
) -> dict[str, object]:
    """A contract snapshot (ContractOut JSON) in Superlógica's `_plc` (customer's plan)
    columns, its items as `compo_plano`."""
    exponent = _currency_exponent(contract)
    items = contract.get("items") or []
    return {
        "id_planocliente_plc": str(contract["number"]),
        "st_sincro_plc": _text(contract.get("id")),
        **_customer_columns(contract, customer_number),
        "st_nome_pla": _text(items[0].get("description")) if items else "",
        "vl_total_plc": money(contract["amount"], exponent),
        "dt_contrato_plc": _snapshot_date(contract.get("start_date"), time_zone),
        "dt_fimtrial_plc": _snapshot_date(contract.get("trial_end"), time_zone),
        "nm_diavencimento_plc": _text(contract.get("billing_day")),
        "dt_proximovencimento_plc": _snapshot_date(contract.get("next_charge_date"), time_zone),
        "dt_cancelamento_plc": _snapshot_date(contract.get("cancelled_at"), time_zone),
        "st_motivocancelamento_plc": _text(contract.get("cancel_reason")),
        "st_formapagamento_plc": _text(contract.get("payment_method")),
        "fl_status_plc": _code(CONTRACT_STATUS_CODES, contract.get("status"), "contract"),
        "compo_plano": _composition(items, exponent),
    }


def charge_fields(
    charge: Mapping[str, Any], time_zone: str | tzinfo, customer_number: int | None = None
) -> dict[str, object]:
    """A charge snapshot (ChargeOut JSON) in Superlógica's `_recb` (recebimento) columns,
    its items as `compo_recebimento`."""
    exponent = _currency_exponent(charge)
    settled = charge.get("settled_amount")
    instructions: Mapping[str, Any] = charge.get("payment_instructions") or {}
    return {
        "id_recebimento_recb": str(charge["number"]),
        "st_sincro_recb": _text(charge.get("id")),
        **_customer_columns(charge, customer_number),
        "st_sincro_plc": _text(charge.get("contract_id")),
        "dt_geracao_recb": _snapshot_date(charge.get("created_at"), time_zone),
        "dt_vencimento_recb": _snapshot_date(charge.get("due_date"), time_zone),
        "dt_liquidacao_recb": _snapshot_date(charge.get("settled_at"), time_zone),
        "vl_emitido_recb": money(charge["amount"], exponent),
        "vl_total_recb": money(charge["amount"] if settled is None else settled, exponent),
        "vl_txmulta_recb": money(charge.get("fine_amount") or 0, exponent),
        "vl_txjuros_recb": money(charge.get("interest_amount") or 0, exponent),
        "st_formapagamento_recb": _text(charge.get("payment_method")),
        "st_pixqrcode_recb": _text(instructions.get("pix_code")),
        "st_linhadigitavel_recb": _text(instructions.get("boleto_line")),
        # The second copy ("2ª via"): the customer's payment page, while the charge is open.
        "link_2via": _text(charge.get("payment_url")),
        "fl_status_recb": _code(CHARGE_STATUS_CODES, charge.get("status"), "charge"),
        "compo_recebimento": _composition(charge.get("items"), exponent),
    }


Mapper = Callable[[Mapping[str, Any], str, int | None], Mapping[str, object]]


def _without_customer(
    fields: Callable[[Mapping[str, Any], str | tzinfo], dict[str, str]],
) -> Mapper:
    return lambda snapshot, time_zone, _number: fields(snapshot, time_zone)


# Event type prefix (before the dot) -> mapping. Contracts and charges name their customer
# by number (`id_sacado_sac`), which the caller looks up: snapshots hold only its id.
MAPPERS: dict[str, Mapper] = {
    "customer": _without_customer(customer_fields),
    "product": _without_customer(product_fields),
    "contract": contract_fields,
    "charge": charge_fields,
    # card.declined: the charge the declined attempt was for (its `charge`), with `tentativa`.
    "card": lambda data, time_zone, number: charge_fields(data["charge"], time_zone, number),
}

# The mappings that need the customer's number.
NEEDS_CUSTOMER_NUMBER = frozenset({"contract", "charge", "card"})


def superlogica_body(
    event_type: str,
    data: Mapping[str, Any],
    validation_token: str,
    time_zone: str,
    attempt: int | None = None,
    customer_number: int | None = None,
) -> bytes:
    """The form body for one delivery: `validationtoken`, `data[...]` and, for
    `card.declined`, a top-level `tentativa` (`attempt`, else the event's own `attempt`)."""
    if attempt is not None and event_type != CARD_DECLINED:
        raise ValueError(f"attempt (tentativa) only belongs to {CARD_DECLINED}")
    mapper = MAPPERS.get(event_type.partition(".")[0])
    if mapper is None:
        raise UnsupportedFormat(f"no superlogica format for {event_type!r} yet")
    mapped = mapper(data, time_zone, customer_number)
    body: dict[str, object] = {"validationtoken": validation_token, "data": mapped}
    if event_type == CARD_DECLINED:
        tentativa = attempt if attempt is not None else data.get("attempt")
        if tentativa is None:
            raise ValueError(f"{CARD_DECLINED} needs an attempt number")
        body["tentativa"] = tentativa
    return php_build_query(body).encode("utf-8")
