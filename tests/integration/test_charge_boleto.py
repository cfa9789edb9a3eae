"""Boleto numbers on charges (charges/boleto.py) and the printable boleto
(`GET /v1/charges/{id}/boleto.pdf`), on both backends: a sandbox tenant's boleto charge is
numbered under its bank agreement, a line and barcode that `rules.boleto` reads back to the
charge's amount, due date and nosso número; the nosso número sequence is gap-free, also
across concurrent requests and calendar batches; a PATCH rebuilds the numbers; the PDF
decodes to the same 44 digits."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from assina.calendar.run import PassOptions, run_calendar
from assina.charges.models import Charge
from assina.core.clock import FrozenClock
from assina.db.database import Database
from assina.rules.boleto import (
    barcode_from_line,
    check_barcode,
    digitable_line,
    due_date_from_factor,
    free_field,
)
from assina.webhooks.superlogica import charge_fields
from tests.assertions import assert_problem
from tests.conftest import TenantClient
from tests.integration.charge_support import PIX_SETTINGS, create_charge, line, read_charge
from tests.integration.contract_support import new_contract, new_customer
from tests.integration.test_calendar import charges_of
from tests.pdf_support import decode, rasterise, text_of, tools

SANDBOX_AGREEMENT = "1234567"  # the sandbox's Banco do Brasil convênio, carteira 17
DUE = date(2026, 2, 10)


def read_boleto(charge: dict[str, Any]) -> tuple[int, date, int]:
    """(amount, due date, nosso número) as the charge's line and barcode carry them, checked
    digit by digit with rules.boleto: the line is the barcode's, under the sandbox agreement."""
    instructions = charge["payment_instructions"]
    line_text, code = instructions["boleto_line"], instructions["boleto_barcode"]
    assert sum(char.isdigit() for char in line_text) == 47
    assert len(code) == 44
    check_barcode(code)
    assert barcode_from_line(line_text) == code
    assert digitable_line(code) == line_text
    assert code[:4] == "0019"  # Banco do Brasil, reais
    our_number = int(code[32:42])  # 7-digit convênio: 000000 + convênio + nosso número (10)
    sandbox_field = free_field("001", agreement=SANDBOX_AGREEMENT, our_number="0", wallet="17")
    assert code[19:32] + code[42:] == sandbox_field[:13] + sandbox_field[23:]
    due = due_date_from_factor(int(code[5:9]), near=date.fromisoformat(charge["due_date"]))
    return int(code[9:19]), due, our_number


def has_no_boleto(charge: dict[str, Any]) -> bool:
    instructions = charge["payment_instructions"]
    return instructions["boleto_line"] is None and instructions["boleto_barcode"] is None


async def stored_our_number(database: Database, charge_id: str) -> str | None:
    async with database.read() as session:
        return await session.scalar(select(Charge.boleto_our_number).where(Charge.id == charge_id))


async def boleto_charge(api: TenantClient, amount: int = 12345, **fields: Any) -> dict[str, Any]:
    return await create_charge(api, items=[line(amount)], due_date=DUE.isoformat(), **fields)


# --- numbers -----------------------------------------------------------------------------------


async def test_a_sandbox_boleto_charge_carries_its_amount_due_date_and_nosso_numero(
    sandbox: TenantClient, database: Database
) -> None:
    first = await boleto_charge(sandbox, 12345)
    second = await boleto_charge(sandbox, 990)

    assert first["payment_method"] == "boleto"
    assert read_boleto(first) == (12345, DUE, 1)
    assert read_boleto(second) == (990, DUE, 2)
    assert await read_charge(sandbox, first["id"]) == first
    assert await stored_our_number(database, first["id"]) == "1"
    # Superlógica's format carries the same line.
    fields = charge_fields(first, "America/Sao_Paulo")
    assert fields["st_linhadigitavel_recb"] == first["payment_instructions"]["boleto_line"]


async def test_charges_that_take_no_boleto_get_no_number(
    sandbox: TenantClient, api: TenantClient, database: Database
) -> None:
    pix = await boleto_charge(sandbox, payment_method="pix")
    card = await boleto_charge(sandbox, payment_method="card")
    dollars = await boleto_charge(sandbox, currency="USD")
    free = await boleto_charge(sandbox, 0)
    live = await boleto_charge(api)
    for charge in (pix, card, dollars, free, live):
        assert has_no_boleto(charge), charge
        assert await stored_our_number(database, charge["id"]) is None
    # None of them took a number: the next boleto is the first.
    assert read_boleto(await boleto_charge(sandbox))[2] == 1


async def test_a_sandbox_tenant_without_a_boleto_provider_numbers_nothing(
    sandbox: TenantClient,
) -> None:
    body = {"boleto": {"provider": None, "bank": None}}
    response = await sandbox.http.put("/v1/payment-settings", json=body, headers=sandbox.headers)
    assert response.status_code == 200, response.text
    assert has_no_boleto(await boleto_charge(sandbox))


async def test_a_changed_bank_agreement_numbers_the_next_boletos(sandbox: TenantClient) -> None:
    bank = {"code": "001", "agreement": "12387989", "wallet": "18"}
    body = {"boleto": {"provider": "sandbox", "bank": bank}}
    response = await sandbox.http.put("/v1/payment-settings", json=body, headers=sandbox.headers)
    assert response.status_code == 200, response.text
    code = (await boleto_charge(sandbox))["payment_instructions"]["boleto_barcode"]
    assert code[19:] == free_field("001", agreement="12387989", our_number="1", wallet="18")


async def test_concurrent_charges_get_nosso_numeros_1_to_n(sandbox: TenantClient) -> None:
    customer_id = await new_customer(sandbox)
    body = {"customer_id": customer_id, "items": [line(5000)], "due_date": DUE.isoformat()}
    responses = await asyncio.gather(*(sandbox.post("/v1/charges", body) for _ in range(20)))
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses]
    charges = [response.json() for response in responses]
    assert sorted(read_boleto(charge)[2] for charge in charges) == list(range(1, 21))
    # Numbered in the order the charges were: nosso número follows the charge number.
    by_number = sorted(charges, key=lambda charge: charge["number"])
    assert [read_boleto(charge)[2] for charge in by_number] == list(range(1, 21))


async def test_calendar_batches_number_their_boleto_charges(
    sandbox: TenantClient, database: Database, clock: FrozenClock
) -> None:
    boletos = [await new_contract(sandbox, payment_method="boleto") for _ in range(4)]
    pix = [await new_contract(sandbox, payment_method="pix") for _ in range(3)]

    report = await run_calendar(
        database, clock, tenant_id=sandbox.tenant.tenant_id, options=PassOptions(batch_size=3)
    )

    assert report.charges_issued == 7
    numbers = []
    for contract in boletos:
        [charge] = await charges_of(sandbox, contract["id"])
        amount, due, our_number = read_boleto(charge)
        assert (amount, due) == (charge["amount"], date.fromisoformat(charge["due_date"]))
        numbers.append(our_number)
    assert sorted(numbers) == [1, 2, 3, 4]
    for contract in pix:
        [charge] = await charges_of(sandbox, contract["id"])
        assert has_no_boleto(charge)


# --- PATCH -------------------------------------------------------------------------------------


async def test_patch_rebuilds_the_numbers_with_the_same_nosso_numero(
    sandbox: TenantClient, database: Database
) -> None:
    charge = await boleto_charge(sandbox, 12345)
    await boleto_charge(sandbox)  # nosso número 2

    async def patch(body: dict[str, Any]) -> dict[str, Any]:
        response = await sandbox.patch(f"/v1/charges/{charge['id']}", body)
        assert response.status_code == 200, response.text
        patched: dict[str, Any] = response.json()
        return patched

    repriced = await patch({"items": [line(20000), line(55)]})
    assert read_boleto(repriced) == (20055, DUE, 1)
    moved = await patch({"due_date": "2026-03-31"})
    assert read_boleto(moved) == (20055, date(2026, 3, 31), 1)
    untouched = await patch({"metadata": {"a": "b"}})
    assert untouched["payment_instructions"] == moved["payment_instructions"]

    # Away from boleto: no line shown, the nosso número kept; back: the same one.
    as_pix = await patch({"payment_method": "pix"})
    assert has_no_boleto(as_pix)
    assert await stored_our_number(database, charge["id"]) == "1"
    back = await patch({"payment_method": "boleto"})
    assert read_boleto(back) == (20055, date(2026, 3, 31), 1)
    assert back["payment_instructions"] == moved["payment_instructions"]
    assert read_boleto(await boleto_charge(sandbox))[2] == 3  # no number spent meanwhile

    updated = [
        event
        for event in (await sandbox.get("/v1/events", params={"limit": 100})).json()["data"]
        if event["type"] == "charge.updated"
    ]
    assert updated[0]["data"]["payment_instructions"] == repriced["payment_instructions"]
    assert updated[0]["previous"]["payment_instructions"] == charge["payment_instructions"]


async def test_a_charge_switched_to_boleto_takes_the_next_number(sandbox: TenantClient) -> None:
    pix = await boleto_charge(sandbox, payment_method="pix")
    await boleto_charge(sandbox)  # nosso número 1
    response = await sandbox.patch(f"/v1/charges/{pix['id']}", {"payment_method": "boleto"})
    assert response.status_code == 200, response.text
    assert read_boleto(response.json()) == (12345, DUE, 2)


# --- the printable boleto ----------------------------------------------------------------------


async def test_the_boleto_pdf_decodes_to_the_charges_barcode(
    sandbox: TenantClient, tmp_path: Path
) -> None:
    rasteriser, extractor, decoder = tools()
    response = await sandbox.http.put(
        "/v1/billing-settings", json=PIX_SETTINGS, headers=sandbox.headers
    )
    assert response.status_code == 200, response.text
    address = {
        "street": "Rua das Flores",
        "number": "10",
        "district": "Centro",
        "city": "São Paulo",
        "state": "SP",
        "postal_code": "01001-000",
    }
    customer_id = await new_customer(
        sandbox, "Maria Quitéria", document="529.982.247-25", address=address
    )
    charge = await boleto_charge(sandbox, 123456, customer_id=customer_id)

    response = await sandbox.get(f"/v1/charges/{charge['id']}/boleto.pdf")

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    number = charge["number"]
    assert response.headers["content-disposition"] == f'inline; filename="boleto-{number}.pdf"'
    pdf = tmp_path / "boleto.pdf"
    pdf.write_bytes(response.content)
    image, _ = rasterise(rasteriser, pdf)
    instructions = charge["payment_instructions"]
    assert decode(decoder, image, "i25") == [instructions["boleto_barcode"]]
    assert decode(decoder, image, "qrcode") == [instructions["pix_code"]]
    text = text_of(extractor, pdf)
    for shown in (
        "Maria Quitéria",
        "529.982.247-25",
        "Rua das Flores, 10 - Centro - São Paulo/SP - CEP 01001-000",
        "Sandbox Alfa",
        "R$ 1.234,56",
        "10/02/2026",
        instructions["boleto_line"],
        "12345670000000001",  # nosso número as Banco do Brasil prints it
        "Após o vencimento, multa de 2,00% e juros de 1,00% ao mês",
    ):
        assert shown in text, shown
    # Asked again, the same bytes.
    again = await sandbox.get(f"/v1/charges/{charge['id']}/boleto.pdf")
    assert again.content == response.content


async def test_a_charge_without_a_boleto_has_no_pdf(
    sandbox: TenantClient, api: TenantClient
) -> None:
    for charge, client in (
        (await boleto_charge(sandbox, payment_method="pix"), sandbox),
        (await boleto_charge(sandbox, payment_method="card"), sandbox),
        (await boleto_charge(api), api),
    ):
        response = await client.get(f"/v1/charges/{charge['id']}/boleto.pdf")
        assert_problem(response, 409, "no-boleto")


async def test_another_tenants_boleto_is_not_found(
    sandbox: TenantClient, other_api: TenantClient
) -> None:
    charge = await boleto_charge(sandbox)
    response = await other_api.get(f"/v1/charges/{charge['id']}/boleto.pdf")
    assert_problem(response, 404, "not-found")


@pytest.mark.parametrize("method", ["pix", "card"])
async def test_the_pdf_of_a_charge_switched_away_from_boleto_is_refused(
    sandbox: TenantClient, method: str
) -> None:
    charge = await boleto_charge(sandbox)
    response = await sandbox.patch(f"/v1/charges/{charge['id']}", {"payment_method": method})
    assert response.status_code == 200, response.text
    response = await sandbox.get(f"/v1/charges/{charge['id']}/boleto.pdf")
    assert_problem(response, 409, "no-boleto")
