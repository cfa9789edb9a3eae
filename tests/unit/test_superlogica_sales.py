"""Orders, expenses, fiscal invoices and declined cards in the `superlogica` format, read back
by real PHP (`parse_str`, how PHP fills `$_POST`) and by the suite's PHP-style reader. The
snapshots go through the catalog's data models first, as events carry them."""

from __future__ import annotations

from typing import Any

import pytest

from assina.webhooks.superlogica import superlogica_body
from tests.unit.test_superlogica import SP, TOKEN, parse_body
from tests.unit.test_superlogica_billing import CHARGE, php_post, snapshot

# fmt: off
EXPENSE: dict[str, Any] = {
    "id": "exp_01F", "number": 8, "supplier_id": "sup_01G", "supplier_number": 3,
    "supplier": "Papelaria Central Ltda", "description": "Resmas de papel A4",
    "category": "Material de escritório", "cost_center": "Secretaria",
    "competence_date": "2026-03-01", "due_date": "2026-03-20", "amount": 45990,
    "currency": "BRL", "document_number": "NF 1234", "boleto_line": None,
    "status": "settled", "paid_at": "2026-03-21T13:00:00Z", "paid_amount": 46909,
    "fine": 919, "interest": 0, "discount": 0, "method": "pix",
    "metadata": {}, "created_at": "2026-03-02T12:00:00Z", "updated_at": "2026-03-21T13:00:00Z",
}
ORDER_ITEMS = [
    {"product_id": "prd_01A", "description": "Mensalidade Plano Escola", "quantity": 2,
     "amount": 22355, "interval": "month", "interval_count": 1},
    {"product_id": "prd_01K", "description": "Taxa de matrícula", "quantity": 1,
     "amount": 1050, "interval": "once", "interval_count": 1},
]
ORDER: dict[str, Any] = {
    "id": "ord_01H", "number": 5, "customer_id": "cus_01C", "items": ORDER_ITEMS,
    "amount": 45760, "currency": "BRL", "status": "paid", "from": "pending", "to": "paid",
    "payment_method": "pix", "card_id": None, "contract_ids": ["ctr_01B"],
    "charge_id": "chg_01D", "expires_on": "2026-04-08", "paid_at": "2026-04-16T01:00:00Z",
    "fulfilled_at": None, "cancelled_at": None, "expired_at": None,
    "metadata": {}, "created_at": "2026-04-01T12:00:00Z", "updated_at": "2026-04-16T01:00:00Z",
}
INVOICE: dict[str, Any] = {
    "id": "nfs_01J", "number": 12, "charge_id": "chg_01D", "charge_number": 311,
    "customer_id": "cus_01C", "status": "issued", "provider": "sandbox", "amount": 44743,
    "currency": "BRL", "iss_rate_bp": 500, "iss_amount": 2237, "iss_retained": False,
    "service_code": "080101", "service_description": "Mensalidade escolar",
    "competence_date": "2026-04-15", "nfse_number": "1042", "verification_code": "K7Q2M9XA",
    "access_key": "35503082123456780001950000000000104226041234567891",
    "issued_at": "2026-04-16T02:10:00Z", "rejection_reason": None, "cancel_reason": None,
    "cancel_requested_at": None, "cancelled_at": None,
    "metadata": {}, "created_at": "2026-04-16T01:00:00Z", "updated_at": "2026-04-16T02:10:00Z",
}
# fmt: on


def read(event_type: str, data: dict[str, Any], customer_number: int | None = 42) -> Any:
    """What PHP finds in `$_POST['data']`, checked equal to the suite's own reader."""
    body = superlogica_body(
        event_type, snapshot(event_type, data), TOKEN, SP, customer_number=customer_number
    )
    post = php_post(body)
    assert post == parse_body(body)
    assert post["validationtoken"] == TOKEN
    return post["data"]


@pytest.mark.parametrize("event_type", ["expense.settled", "expense.updated", "expense.reversed"])
def test_an_expense_as_php_reads_it(event_type: str) -> None:
    data = read(event_type, EXPENSE, customer_number=None)
    assert (data["id_despesa_des"], data["st_sincro_des"]) == ("8", "exp_01F")
    assert (data["st_nome_con"], data["st_sincro_con"]) == ("Papelaria Central Ltda", "sup_01G")
    assert data["st_complemento_pdes"] == "Resmas de papel A4"
    assert data["st_conta_cont"] == "Material de escritório"
    assert (data["dt_despesa_des"], data["dt_vencimento_pdes"]) == ("03/01/2026", "03/20/2026")
    assert data["dt_liquidacao_pdes"] == "03/21/2026"
    assert (data["vl_valor_pdes"], data["vl_pago_pdes"]) == ("459.90", "469.09")
    assert (data["vl_multa_pdes"], data["vl_juros_pdes"]) == ("9.19", "0.00")
    assert (data["fl_liquidado_pdes"], data["fl_status_des"]) == ("1", "1")
    assert data["st_codigobarras_pdes"] == ""  # every column present, empty when unset


@pytest.mark.parametrize(
    ("status", "code", "settled"), [("open", "0", "0"), ("reversed", "2", "0")]
)
def test_expense_status_codes(status: str, code: str, settled: str) -> None:
    values = {"status": status, "paid_at": None, "paid_amount": None}
    data = read("expense.updated", {**EXPENSE, **values}, customer_number=None)
    assert (data["fl_status_des"], data["fl_liquidado_pdes"]) == (code, "0")
    assert (data["dt_liquidacao_pdes"], data["vl_pago_pdes"]) == ("", "")


def test_an_order_move_as_php_reads_it() -> None:
    data = read("order.status_changed", ORDER)
    assert (data["id_pedido_ped"], data["st_sincro_ped"]) == ("5", "ord_01H")
    assert (data["id_sacado_sac"], data["st_sincro_sac"]) == ("42", "cus_01C")
    assert (data["fl_statusanterior_ped"], data["fl_status_ped"]) == ("0", "1")
    assert (data["vl_total_ped"], data["st_sincro_recb"]) == ("457.60", "chg_01D")
    assert (data["contratos"], data["st_formapagamento_ped"]) == (["ctr_01B"], "pix")
    assert data["compo_pedido"][0]["vl_total_comp"] == "447.10"
    assert data["compo_pedido"][1]["st_nome_pla"] == "Taxa de matrícula"


def test_a_new_order_has_no_previous_status() -> None:
    values = {"status": "pending", "from": None, "to": "pending", "contract_ids": []}
    data = read("order.status_changed", {**ORDER, **values})
    assert (data["fl_statusanterior_ped"], data["fl_status_ped"]) == ("", "0")
    assert "contratos" not in data  # an empty list writes nothing, as PHP's http_build_query


def test_a_fiscal_invoice_as_php_reads_it() -> None:
    data = read("fiscal_invoice.issued", INVOICE)
    assert (data["id_nota_not"], data["st_sincro_not"]) == ("12", "nfs_01J")
    assert (data["id_recebimento_recb"], data["st_nf_recb"]) == ("311", "1042")
    assert data["st_chaveacesso_not"] == INVOICE["access_key"]
    assert (data["st_codigoverificacao_not"], data["dt_emissao_not"]) == ("K7Q2M9XA", "04/15/2026")
    assert (data["vl_total_not"], data["vl_iss_not"]) == ("447.43", "22.37")
    assert (data["fl_status_not"], data["id_sacado_sac"]) == ("1", "42")


def test_a_declined_card_carries_its_card_columns() -> None:
    card = {"id": "card_01E", "brand": "visa", "last4": "0341", "exp_month": 12, "exp_year": 2030}
    declined = {
        "charge_id": CHARGE["id"],
        "customer_id": CHARGE["customer_id"],
        "card_id": card["id"],
        "card": card,
        "attempt": 3,
        "decline_code": "insufficient_funds",
        "message": "Cartão recusado por saldo ou limite insuficiente.",
        "attempted_at": "2026-04-13T03:00:05Z",
        "charge": {**CHARGE, "status": "open", "settled_at": None, "settled_amount": None},
    }
    data = read("card.declined", declined)
    assert (data["fl_cartao_recb"], data["st_cartaobandeira_recb"]) == ("1", "visa")
    assert data["st_numerocartao_recb"] == "************0341"
    assert (data["nm_tentativascartao_recb"], data["st_codigoerrocartao_recb"]) == (
        "3",
        "insufficient_funds",
    )
    assert data["st_errocartao_recb"] == declined["message"]
    assert data["id_recebimento_recb"] == "311"
