"""Contracts and charges in the `superlogica` format, read back by real PHP (`parse_str`,
which is how PHP fills `$_POST`) and by the suite's own PHP-style reader.

PHP comes from Debian's php-cli (.ci/run installs it); without it the PHP half skips, unless
`ASSINA_TEST_ALL_RECEIVERS=1` (CI) turns the missing tool into a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest

from assina.event_types.catalog import data_model
from assina.events.catalog import CATALOG
from assina.webhooks.superlogica import superlogica_body
from tests.unit.test_superlogica import SP, TOKEN, parse_body

KINDS = {kind.name.value: kind for kind in CATALOG}
ITEMS = [
    {
        "product_id": "prd_01A",
        "description": "Mensalidade Plano Escola",
        "quantity": 2,
        "amount": 22355,
    },
    {"product_id": None, "description": "Crédito proporcional", "quantity": 1, "amount": -1050},
]
# fmt: off
CONTRACT: dict[str, Any] = {
    "id": "ctr_01B", "number": 17, "customer_id": "cus_01C", "items": ITEMS, "amount": 43660,
    "currency": "BRL", "status": "active", "start_date": "2026-02-28", "trial_end": None,
    "billing_day": 31, "current_period_start": "2026-03-31", "current_period_end": "2026-04-30",
    "next_charge_date": "2026-04-30", "pending_proration_amount": 0, "payment_method": "pix",
    "readjustment_index": None,
    "dunning_exempt": False, "cancel_at_period_end": False, "cancel_at": None,
    "cancelled_at": None, "cancel_reason": None, "status_reason": None,
    "metadata": {}, "created_at": "2026-03-01T02:30:00Z",
    "updated_at": "2026-03-01T02:30:00Z",
}
CHARGE: dict[str, Any] = {
    "id": "chg_01D", "number": 311, "customer_id": "cus_01C", "contract_id": "ctr_01B",
    "period_start": "2026-04-10", "period_end": "2026-05-10", "items": ITEMS, "amount": 43660,
    "currency": "BRL", "due_date": "2026-04-10",
    "status": "settled", "payment_method": "pix", "settled_at": "2026-04-16T01:00:00Z",
    "settled_amount": 44743, "fine_amount": 873, "interest_amount": 210,
    "payment_instructions": {
        "pix_code": "00020126...6304ABCD",
        "boleto_line": None,
        "boleto_barcode": None,
    },
    "payment_url": None,
    "metadata": {}, "created_at": "2026-04-01T12:00:00Z", "updated_at": "2026-04-16T01:00:00Z",
}
# fmt: on


def snapshot(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """The data as events carry it: validated by the catalog's model, dumped as JSON."""
    model = data_model(KINDS[event_type].name)
    dumped: dict[str, Any] = model.model_validate(data).model_dump(mode="json")
    return dumped


def php_post(body: bytes) -> dict[str, Any]:
    """What a PHP receiver finds in `$_POST` for this body."""
    php = shutil.which("php")
    if php is None:
        if os.environ.get("ASSINA_TEST_ALL_RECEIVERS") == "1":
            pytest.fail("php is not installed")
        pytest.skip("php is not installed")
    script = "parse_str(stream_get_contents(STDIN), $post); echo json_encode($post);"
    done = subprocess.run(  # noqa: S603 - our own script and body
        [php, "-r", script], input=body, capture_output=True, check=True, timeout=30
    )
    post: dict[str, Any] = json.loads(done.stdout)
    return post


def test_a_contract_as_php_reads_it() -> None:
    data = snapshot("contract.created", CONTRACT)
    body = superlogica_body("contract.created", data, TOKEN, SP, customer_number=42)
    post = php_post(body)
    assert post == parse_body(body)
    assert post["validationtoken"] == TOKEN
    # fmt: off
    assert post["data"] == {
        "id_planocliente_plc": "17", "st_sincro_plc": "ctr_01B", "id_sacado_sac": "42",
        "st_sincro_sac": "cus_01C", "st_nome_pla": "Mensalidade Plano Escola",
        "vl_total_plc": "436.60", "dt_contrato_plc": "02/28/2026", "dt_fimtrial_plc": "",
        "nm_diavencimento_plc": "31", "dt_proximovencimento_plc": "04/30/2026",
        "dt_cancelamento_plc": "", "st_motivocancelamento_plc": "",
        "st_formapagamento_plc": "pix", "fl_status_plc": "0",
        "compo_plano": [
            {"st_sincro_prd": "prd_01A", "st_nome_pla": "Mensalidade Plano Escola",
             "nm_quantidade_comp": "2", "vl_unitario_comp": "223.55", "vl_total_comp": "447.10"},
            {"st_sincro_prd": "", "st_nome_pla": "Crédito proporcional",
             "nm_quantidade_comp": "1", "vl_unitario_comp": "-10.50", "vl_total_comp": "-10.50"},
        ],
    }
    # fmt: on


def test_a_charge_as_php_reads_it() -> None:
    data = snapshot("charge.settled", CHARGE)
    body = superlogica_body("charge.settled", data, TOKEN, SP, customer_number=42)
    post = php_post(body)
    assert post == parse_body(body)
    got = post["data"]
    # fmt: off
    assert {key: value for key, value in got.items() if key != "compo_recebimento"} == {
        "id_recebimento_recb": "311", "st_sincro_recb": "chg_01D", "id_sacado_sac": "42",
        "st_sincro_sac": "cus_01C", "st_sincro_plc": "ctr_01B",
        "dt_geracao_recb": "04/01/2026", "dt_vencimento_recb": "04/10/2026",
        # 01:00 UTC on the 16th is still the 15th in São Paulo.
        "dt_liquidacao_recb": "04/15/2026",
        "vl_emitido_recb": "436.60", "vl_total_recb": "447.43", "vl_txmulta_recb": "8.73",
        "vl_txjuros_recb": "2.10", "st_formapagamento_recb": "pix",
        "st_pixqrcode_recb": "00020126...6304ABCD", "st_linhadigitavel_recb": "",
        "link_2via": "", "fl_status_recb": "1",
    }
    # fmt: on
    assert [row["vl_total_comp"] for row in got["compo_recebimento"]] == ["447.10", "-10.50"]


@pytest.mark.parametrize(
    ("status", "code"), [("open", "0"), ("settled", "1"), ("invalidated", "2"), ("reversed", "3")]
)
def test_charge_status_codes_and_open_totals(status: str, code: str) -> None:
    open_values = {"settled_at": None, "settled_amount": None} if status != "settled" else {}
    data = snapshot("charge.updated", {**CHARGE, "status": status, **open_values})
    got = parse_body(superlogica_body("charge.updated", data, TOKEN, SP))["data"]
    assert got["fl_status_recb"] == code
    assert got["id_sacado_sac"] == ""  # unknown customer number: an empty column, not absent
    expected_total = "447.43" if status == "settled" else "436.60"
    assert got["vl_total_recb"] == expected_total


@pytest.mark.parametrize(
    ("status", "code"),
    [("active", "0"), ("trialing", "1"), ("suspended", "2"), ("cancelled", "3")],
)
def test_contract_status_codes(status: str, code: str) -> None:
    data = snapshot("contract.updated", {**CONTRACT, "status": status})
    got = parse_body(superlogica_body("contract.updated", data, TOKEN, SP))["data"]
    assert got["fl_status_plc"] == code


def test_a_declined_card_is_its_charge_with_tentativa_at_top_level() -> None:
    card = {"id": "card_01E", "brand": "visa", "last4": "0341", "exp_month": 12, "exp_year": 2030}
    declined = {
        "charge_id": CHARGE["id"],
        "customer_id": CHARGE["customer_id"],
        "card_id": card["id"],
        "card": card,
        "attempt": 2,
        "decline_code": "insufficient_funds",
        "message": "Cartão recusado por saldo ou limite insuficiente.",
        "attempted_at": "2026-04-11T03:00:05Z",
        "charge": {**CHARGE, "status": "open", "settled_at": None, "settled_amount": None},
    }
    data = snapshot("card.declined", declined)
    body = superlogica_body("card.declined", data, TOKEN, SP, customer_number=42)
    post = php_post(body)
    assert post == parse_body(body)
    assert body.endswith(b"&tentativa=2")
    assert post["tentativa"] == "2"
    assert post["data"]["id_recebimento_recb"] == "311"
    assert (post["data"]["fl_status_recb"], post["data"]["id_sacado_sac"]) == ("0", "42")
    # The attempt may be given apart from the data, as the dispatcher's record has it.
    again = parse_body(superlogica_body("card.declined", data, TOKEN, SP, attempt=3))
    assert again["tentativa"] == "3"


def test_link_2via_is_the_open_charges_payment_page() -> None:
    url = "https://assina.example.com.br/pay/chg_01D.Xq3v9KfT0bLmWz7RcYp2Aw"
    values = {"status": "open", "settled_at": None, "settled_amount": None, "payment_url": url}
    data = snapshot("charge.created", {**CHARGE, **values})
    got = parse_body(superlogica_body("charge.created", data, TOKEN, SP))["data"]
    assert got["link_2via"] == url
