"""The `superlogica` delivery format (product.md §4): pure functions building the form body.

Receivers written for Superlógica read `$_POST['validationtoken']` and `$_POST['data'][...]`,
so the body is `validationtoken=<token>&data[<column>]=<value>...`, encoded exactly as PHP's
`http_build_query` does with PHP_QUERY_RFC1738. There is no event name in the body: such
receivers use one URL per event.

The form is built by `php_build_query` (superlogica_query.py), as PHP builds it.

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
- card (`card.declined`): the charge's columns plus `fl_cartao_recb` (1),
  `st_cartaobandeira_recb` (brand), `st_numerocartao_recb` (`************` + last4),
  `nm_tentativascartao_recb` (the attempt), `st_codigoerrocartao_recb` (decline_code),
  `st_errocartao_recb` (the message), and a top-level `tentativa`.
- expense (despesa; `_des` the expense, `_pdes` its one installment, `_con` the supplier):
  `id_despesa_des` (number), `st_sincro_des` (`exp_...`), `id_contato_con` (the supplier's
  number), `st_sincro_con` (its id), `st_nome_con` (its name), `st_complemento_pdes`
  (description), `st_conta_cont` (category), `st_centrocusto_des` (cost center),
  `st_documento_des`, `st_codigobarras_pdes` (boleto line), `dt_geracao_des` (created_at),
  `dt_despesa_des` (competence date), `dt_vencimento_pdes`, `dt_liquidacao_pdes` (paid_at),
  `vl_valor_pdes` (amount), `vl_multa_pdes`, `vl_juros_pdes`, `vl_desconto_pdes`,
  `vl_pago_pdes` (paid_amount), `st_formapagamento_pdes`, `fl_liquidado_pdes` (1 once
  settled), `fl_status_des`: 0 open, 1 settled, 2 reversed.
- order (pedido): `id_pedido_ped` (number), `st_sincro_ped` (`ord_...`), `id_sacado_sac`,
  `st_sincro_sac`, `dt_pedido_ped` (created_at), `vl_total_ped`, `st_formapagamento_ped`,
  `st_sincro_recb` (its charge), `contratos[i]` (its contracts' ids),
  `fl_statusanterior_ped` (from; empty on creation), `fl_status_ped` (to): 0 pending,
  1 paid, 2 fulfilled, 3 cancelled, 4 expired; items as `compo_pedido[i][...]`.
- fiscal invoice (nota): `id_nota_not` (number), `st_sincro_not` (`nfs_...`),
  `id_sacado_sac`, `st_sincro_sac`, `id_recebimento_recb` (the charge's number),
  `st_sincro_recb`, `st_nf_recb` (the NFS-e number), `st_codigoverificacao_not`,
  `st_chaveacesso_not`, `dt_emissao_not`, `vl_total_not`, `vl_iss_not`,
  `dt_cancelamento_not`, `st_motivocancelamento_not`, `fl_status_not`: 0 pending,
  1 issued, 2 rejected, 3 cancelled.
- items (`compo_plano`, `compo_recebimento`, `compo_pedido`): `st_sincro_prd`, `st_nome_pla`
  (the item's description), `nm_quantidade_comp`, `vl_unitario_comp`, `vl_total_comp`.

Money is `223.55` (a point, no thousands separator, exact from integer minor units); dates
are `MM/DD/YYYY` in the tenant's time zone. Where the columns come from (Superlógica's public
API as its clients read it, and where a name follows its convention unseen) is in
docs/webhooks.md. `webhook.ping` and `endpoint.disabled` are about assina's own webhooks and
have no Superlógica form: they raise `UnsupportedFormat`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, tzinfo
from typing import Any

from assina.core.clock import local_date
from assina.core.money import MINOR_UNIT_EXPONENT
from assina.webhooks.superlogica_query import php_build_query

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
EXPENSE_STATUS_CODES: dict[str, str] = {"open": "0", "settled": "1", "reversed": "2"}
ORDER_STATUS_CODES: dict[str, str] = {
    "pending": "0",
    "paid": "1",
    "fulfilled": "2",
    "cancelled": "3",
    "expired": "4",
}
FISCAL_INVOICE_STATUS_CODES: dict[str, str] = {
    "pending": "0",
    "issued": "1",
    "rejected": "2",
    "cancelled": "3",
}


class UnsupportedFormat(ValueError):
    """The event type has no `superlogica` mapping (yet)."""


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


def card_declined_fields(
    declined: Mapping[str, Any], time_zone: str | tzinfo, customer_number: int | None = None
) -> dict[str, object]:
    """`card.declined`: the charge the attempt was for (its `_recb` columns) with the card
    columns Superlógica's recebimento carries: the card's brand and masked number, the
    number of tries, and the gateway's error code and message."""
    card: Mapping[str, Any] = declined.get("card") or {}
    return {
        **charge_fields(declined["charge"], time_zone, customer_number),
        "fl_cartao_recb": "1",
        "st_cartaobandeira_recb": _text(card.get("brand")),
        "st_numerocartao_recb": _masked_card(card.get("last4")),
        "nm_tentativascartao_recb": _text(declined.get("attempt")),
        "st_codigoerrocartao_recb": _text(declined.get("decline_code")),
        "st_errocartao_recb": _text(declined.get("message")),
    }


def _masked_card(last4: object) -> str:
    return "" if not last4 else f"************{last4}"


def expense_fields(expense: Mapping[str, Any], time_zone: str | tzinfo) -> dict[str, str]:
    """An expense snapshot (ExpenseOut JSON) in Superlógica's despesa columns: `_des` for the
    expense, `_pdes` for its installment (assina's expense is one installment), `_con` for
    the supplier (a contact) and `st_conta_cont` for its category."""
    exponent = _currency_exponent(expense)
    status = expense.get("status")
    return {
        "id_despesa_des": str(expense["number"]),
        "st_sincro_des": _text(expense.get("id")),
        "id_contato_con": _text(expense.get("supplier_number")),
        "st_sincro_con": _text(expense.get("supplier_id")),
        "st_nome_con": _text(expense.get("supplier")),
        "st_complemento_pdes": _text(expense.get("description")),
        "st_conta_cont": _text(expense.get("category")),
        "st_centrocusto_des": _text(expense.get("cost_center")),
        "st_documento_des": _text(expense.get("document_number")),
        "st_codigobarras_pdes": _text(expense.get("boleto_line")),
        "dt_geracao_des": _snapshot_date(expense.get("created_at"), time_zone),
        "dt_despesa_des": _snapshot_date(expense.get("competence_date"), time_zone),
        "dt_vencimento_pdes": _snapshot_date(expense.get("due_date"), time_zone),
        "dt_liquidacao_pdes": _snapshot_date(expense.get("paid_at"), time_zone),
        "vl_valor_pdes": money(expense["amount"], exponent),
        "vl_multa_pdes": money(expense.get("fine") or 0, exponent),
        "vl_juros_pdes": money(expense.get("interest") or 0, exponent),
        "vl_desconto_pdes": money(expense.get("discount") or 0, exponent),
        "vl_pago_pdes": _optional_money(expense.get("paid_amount"), exponent),
        "st_formapagamento_pdes": _text(expense.get("method")),
        "fl_liquidado_pdes": "1" if status == "settled" else "0",
        "fl_status_des": _code(EXPENSE_STATUS_CODES, status, "expense"),
    }


def _optional_money(amount: object, exponent: int) -> str:
    return "" if amount is None else money(int(str(amount)), exponent)


def order_fields(
    order: Mapping[str, Any], time_zone: str | tzinfo, customer_number: int | None = None
) -> dict[str, object]:
    """An order snapshot (`order.status_changed`'s data) in `_ped` columns, its items as
    `compo_pedido` and the move as `fl_status_ped` (to) and `fl_statusanterior_ped` (from;
    empty on creation)."""
    exponent = _currency_exponent(order)
    previous = order.get("from")
    return {
        "id_pedido_ped": str(order["number"]),
        "st_sincro_ped": _text(order.get("id")),
        **_customer_columns(order, customer_number),
        "dt_pedido_ped": _snapshot_date(order.get("created_at"), time_zone),
        "vl_total_ped": money(order["amount"], exponent),
        "st_formapagamento_ped": _text(order.get("payment_method")),
        "st_sincro_recb": _text(order.get("charge_id")),
        "contratos": [_text(contract) for contract in order.get("contract_ids") or []],
        "fl_statusanterior_ped": (
            "" if previous is None else _code(ORDER_STATUS_CODES, previous, "order")
        ),
        "fl_status_ped": _code(ORDER_STATUS_CODES, order.get("status"), "order"),
        "compo_pedido": _composition(order.get("items"), exponent),
    }


def fiscal_invoice_fields(
    invoice: Mapping[str, Any], time_zone: str | tzinfo, customer_number: int | None = None
) -> dict[str, object]:
    """A fiscal invoice snapshot (FiscalInvoiceOut JSON) in `_not` (nota) columns, with the
    charge it converts (`id_recebimento_recb` when the snapshot has its number, and
    `st_nf_recb`, the NFS-e number as Superlógica's recebimento shows it)."""
    exponent = _currency_exponent(invoice)
    return {
        "id_nota_not": str(invoice["number"]),
        "st_sincro_not": _text(invoice.get("id")),
        **_customer_columns(invoice, customer_number),
        "id_recebimento_recb": _text(invoice.get("charge_number")),
        "st_sincro_recb": _text(invoice.get("charge_id")),
        "st_nf_recb": _text(invoice.get("nfse_number")),
        "st_codigoverificacao_not": _text(invoice.get("verification_code")),
        "st_chaveacesso_not": _text(invoice.get("access_key")),
        "dt_emissao_not": _snapshot_date(invoice.get("issued_at"), time_zone),
        "vl_total_not": money(invoice["amount"], exponent),
        "vl_iss_not": _optional_money(invoice.get("iss_amount"), exponent),
        "dt_cancelamento_not": _snapshot_date(invoice.get("cancelled_at"), time_zone),
        "st_motivocancelamento_not": _text(invoice.get("cancel_reason")),
        "fl_status_not": _code(FISCAL_INVOICE_STATUS_CODES, invoice.get("status"), "invoice"),
    }


Mapper = Callable[[Mapping[str, Any], str, int | None], Mapping[str, object]]


def _without_customer(
    fields: Callable[[Mapping[str, Any], str | tzinfo], dict[str, str]],
) -> Mapper:
    return lambda snapshot, time_zone, _number: fields(snapshot, time_zone)


# Event type prefix (before the dot) -> mapping. Objects of a customer name it by number
# (`id_sacado_sac`), which the caller looks up: snapshots hold only its id.
MAPPERS: dict[str, Mapper] = {
    "customer": _without_customer(customer_fields),
    "product": _without_customer(product_fields),
    "contract": contract_fields,
    "charge": charge_fields,
    "card": card_declined_fields,
    "expense": _without_customer(expense_fields),
    "order": order_fields,
    "fiscal_invoice": fiscal_invoice_fields,
}

# The mappings that need the customer's number.
NEEDS_CUSTOMER_NUMBER = frozenset({"contract", "charge", "card", "order", "fiscal_invoice"})


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
        raise UnsupportedFormat(f"no superlogica format for {event_type!r}")
    mapped = mapper(data, time_zone, customer_number)
    body: dict[str, object] = {"validationtoken": validation_token, "data": mapped}
    if event_type == CARD_DECLINED:
        tentativa = attempt if attempt is not None else data.get("attempt")
        if tentativa is None:
            raise ValueError(f"{CARD_DECLINED} needs an attempt number")
        body["tentativa"] = tentativa
    return php_build_query(body).encode("utf-8")
