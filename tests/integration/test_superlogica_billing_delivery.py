"""Contracts and charges delivered for real to a `superlogica` endpoint (the charge issued by
the billing calendar), read the way a PHP receiver reads `$_POST`. Both databases."""

from __future__ import annotations

from typing import Any

from assina.calendar.run import run_calendar
from assina.core.clock import FrozenClock
from assina.db.database import Database
from tests.conftest import TenantClient
from tests.integration.contract_support import new_contract, new_product
from tests.integration.delivery_support import Receiver, dispatcher_for, new_endpoint
from tests.unit.test_superlogica_billing import php_post


async def deliver(
    api: TenantClient, database: Database, clock: FrozenClock, receiver: Receiver, event_type: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A contract (of customer number 2) and the calendar's first pass, delivered to a
    superlogica endpoint for `event_type`: the contract and what PHP read of each body."""
    await new_endpoint(api, receiver.url, format="superlogica", event_types=[event_type])
    await api.post("/v1/customers", {"name": "Primeiro cliente"})  # customer number 1
    product = await new_product(api, name="Mensalidade Escola", amount=22355)
    contract = await new_contract(api, product=product, billing_day=20)
    await run_calendar(database, clock)  # the stub (Jan 15 to 20) and the Jan 20 charge
    dispatcher = dispatcher_for(database, clock)
    try:
        while await dispatcher.dispatch_once():
            pass
    finally:
        await dispatcher.close()
    posts = [php_post(got.body) for got in receiver.received]
    assert {post["validationtoken"] for post in posts} == {api.tenant.validation_token}
    return contract, [post["data"] for post in posts]


async def test_a_php_receiver_reads_a_contract(
    api: TenantClient, database: Database, clock: FrozenClock, receiver: Receiver
) -> None:
    contract, [plan] = await deliver(api, database, clock, receiver, "contract.created")
    assert plan["id_planocliente_plc"] == str(contract["number"])
    assert plan["st_sincro_plc"] == contract["id"]
    assert plan["id_sacado_sac"] == "2"
    assert plan["st_nome_pla"] == "Mensalidade Escola"
    assert (plan["vl_total_plc"], plan["nm_diavencimento_plc"]) == ("223.55", "20")
    assert plan["dt_contrato_plc"] == "01/15/2026"
    assert plan["compo_plano"][0]["vl_unitario_comp"] == "223.55"


async def test_a_php_receiver_reads_the_calendars_charges(
    api: TenantClient, database: Database, clock: FrozenClock, receiver: Receiver
) -> None:
    contract, data = await deliver(api, database, clock, receiver, "charge.created")
    stub, first = sorted(data, key=lambda charge: int(charge["id_recebimento_recb"]))
    for charge in (stub, first):
        assert charge["id_sacado_sac"] == "2"
        assert charge["st_sincro_plc"] == contract["id"]
        assert (charge["fl_status_recb"], charge["dt_geracao_recb"]) == ("0", "01/15/2026")
    # 5 of the 31 days of Dec 20 to Jan 20: 223.55 * 5 / 31 = 36.056...
    assert (stub["dt_vencimento_recb"], stub["vl_emitido_recb"]) == ("01/15/2026", "36.06")
    assert (first["dt_vencimento_recb"], first["vl_emitido_recb"]) == ("01/20/2026", "223.55")
    [line] = first["compo_recebimento"]
    assert (line["st_nome_pla"], line["nm_quantidade_comp"]) == ("Mensalidade Escola", "1")
    assert line["vl_total_comp"] == "223.55"
