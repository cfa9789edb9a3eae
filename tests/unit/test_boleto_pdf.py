"""The printable boleto: the Interleaved 2 of 5 encoding against the symbology's published
table, the formatting of what the payer reads, and the PDF itself, read back by real tools.

The PDF is rasterised by `pdftoppm` (Debian's poppler-utils), its barcode and PIX QR decoded by
`zbarimg` (zbar-tools), its text extracted by `pdftotext` (poppler-utils); .ci/run installs
them. Without them those tests skip, unless `ASSINA_TEST_ALL_RECEIVERS=1` (CI) turns the
missing tool into a failure. One rasterisation per PDF, at 300 dpi.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from assina.rules.boleto import banco_do_brasil_free_field, barcode, digitable_line
from assina.rules.boleto_pdf import (
    BoletoDocument,
    BoletoParty,
    bank_code_digit,
    format_brl,
    format_date,
    interleaved_2_of_5,
    late_fee_instruction,
    render_boleto_pdf,
)
from assina.rules.pix import pix_code
from tests.pdf_support import PX_PER_MM, Raster, decode, rasterise, text_of, tools

# The Interleaved 2 of 5 character set as published (1 a wide element, 0 a narrow one; the same
# five for a digit in the bars and in the spaces), start 0000 and stop 100: e.g. the Code Reader
# 1000 user's manual, appendix F, and iBarcoder's "Interleaved 2 of 5 Specification".
PUBLISHED_TABLE = {
    "0": "00110",
    "1": "10001",
    "2": "01001",
    "3": "11000",
    "4": "00101",
    "5": "10100",
    "6": "01100",
    "7": "00011",
    "8": "10010",
    "9": "01010",
}


def wide_flags(widths: list[int]) -> str:
    return "".join("1" if width > 1 else "0" for width in widths)


# --- Interleaved 2 of 5 ---------------------------------------------------------------------


@pytest.mark.parametrize("digit", sorted(PUBLISHED_TABLE))
def test_each_digit_in_the_bars_and_in_the_spaces_follows_the_published_table(digit: str) -> None:
    in_bars = interleaved_2_of_5(digit + "0")
    in_spaces = interleaved_2_of_5("0" + digit)
    # After the 4 start elements: bar, space, bar, space, … for the pair.
    assert wide_flags(in_bars[4:14:2]) == PUBLISHED_TABLE[digit]
    assert wide_flags(in_spaces[5:15:2]) == PUBLISHED_TABLE[digit]


def test_start_and_stop_patterns_and_a_whole_pair_written_out() -> None:
    # "12": 1 = W N N N W in the bars, 2 = N W N N W in the spaces, interleaved.
    assert interleaved_2_of_5("12") == [1, 1, 1, 1, 3, 1, 1, 3, 1, 1, 1, 1, 3, 3, 3, 1, 1]
    # "90": 9 = N W N W N in the bars, 0 = N N W W N in the spaces.
    assert interleaved_2_of_5("90") == [1, 1, 1, 1, 1, 1, 3, 1, 1, 3, 3, 3, 1, 1, 3, 1, 1]
    assert wide_flags(interleaved_2_of_5("00")[:4]) == "0000"
    assert wide_flags(interleaved_2_of_5("00")[-3:]) == "100"


def test_a_boleto_barcode_is_405_narrow_units_wide() -> None:
    # 4 (start) + 22 pairs of 2 wide and 3 narrow bars and spaces (2·(2·3 + 3)) + 5 (stop).
    widths = interleaved_2_of_5("00193376900000135000000001238798977770016818")
    assert len(widths) == 4 + 22 * 10 + 3
    assert sum(widths) == 405


@pytest.mark.parametrize("digits", ["1", "123", "0019337690000013500000000123879897777001681"])
def test_an_odd_count_of_digits_is_refused(digits: str) -> None:
    with pytest.raises(ValueError, match="even"):
        interleaved_2_of_5(digits)


@pytest.mark.parametrize(
    "digits", ["", "12a4", "1 23", "\u0661\u0662", "\uff11\uff12", "12.4", "\u00b23"]
)
def test_anything_but_ascii_digits_is_refused(digits: str) -> None:
    with pytest.raises(ValueError, match="digits"):
        interleaved_2_of_5(digits)


# --- what the payer reads -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("bank", "digit"),
    [("001", 9), ("237", 2), ("341", 7), ("104", 0), ("033", 7), ("756", 0)],
)
def test_bank_code_digits_as_the_banks_print_them(bank: str, digit: int) -> None:
    assert bank_code_digit(bank) == digit


@pytest.mark.parametrize(
    ("centavos", "text"),
    [
        (13500, "R$ 135,00"),
        (72356, "R$ 723,56"),
        (123456, "R$ 1.234,56"),
        (5, "R$ 0,05"),
        (9_999_999_999, "R$ 99.999.999,99"),
    ],
)
def test_amounts_are_written_the_brazilian_way(centavos: int, text: str) -> None:
    assert format_brl(centavos) == text


def test_dates_are_dd_mm_yyyy() -> None:
    assert format_date(date(2008, 2, 1)) == "01/02/2008"


@pytest.mark.parametrize(
    ("fine", "interest", "text"),
    [
        ("2", "1", "Após o vencimento, multa de 2,00% e juros de 1,00% ao mês"),
        ("2.0000", "0.0333", "Após o vencimento, multa de 2,00% e juros de 0,0333% ao mês"),
        ("10.5", "0", "Após o vencimento, multa de 10,50%"),
        ("0", "1.25", "Após o vencimento, juros de 1,25% ao mês"),
        ("0", "0", None),
    ],
)
def test_the_late_fee_instruction(fine: str, interest: str, text: str | None) -> None:
    assert late_fee_instruction(Decimal(fine), Decimal(interest)) == text


def test_negative_late_fee_rates_are_refused() -> None:
    with pytest.raises(ValueError):
        late_fee_instruction(Decimal("-1"), Decimal(1))


# --- the document ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Vector:
    """One of the published boleto vectors (../shared/data/test-vectors.md)."""

    agreement: str
    our_number: str
    due: date
    amount: int
    amount_text: str
    agency: str | None = None
    account: str | None = None


VECTORS = [
    Vector("12387989", "777700168", date(2008, 2, 1), 13500, "R$ 135,00"),
    Vector("1238798", "7777700168", date(2008, 2, 3), 72356, "R$ 723,56"),
    Vector("123879", "1234", date(2008, 2, 1), 13500, "R$ 135,00", "4042", "61900"),
]
PUBLISHED_BARCODES = [
    "00193376900000135000000001238798977770016818",
    "00195377100000723560000001238798777770016818",
    "00192376900000135001238790123440420006190018",
]


def document_for(vector: Vector, *, pix: str | None = None) -> BoletoDocument:
    free = banco_do_brasil_free_field(
        agreement=vector.agreement,
        our_number=vector.our_number,
        wallet="18",
        agency=vector.agency,
        account=vector.account,
    )
    code = barcode(bank_code="001", amount=vector.amount, due=vector.due, free_field=free)
    return BoletoDocument(
        bank_code="001",
        bank_name="Banco do Brasil",
        digitable_line=digitable_line(code),
        barcode=code,
        beneficiary=BoletoParty(
            name="Escola Pequeno Príncipe Ltda",
            document="11.222.333/0001-81",
            address="Rua das Acácias, 120 - São Paulo/SP - 01001-000",
        ),
        agency_code="4042-8 / 61900-0",
        payer=BoletoParty(name="João Conceição", document="529.982.247-25"),
        our_number=vector.agreement + vector.our_number,
        document_number="CHG-000123",
        issue_date=date(2008, 1, 20),
        due_date=vector.due,
        amount=vector.amount,
        instructions=("Após o vencimento, multa de 2,00% e juros de 1,00% ao mês",),
        pix_code=pix,
    )


def test_the_vectors_make_the_published_barcodes() -> None:
    # The inputs of the PDF tests are the published ones, not only what rules.boleto makes.
    assert [document_for(vector).barcode for vector in VECTORS] == PUBLISHED_BARCODES


@pytest.mark.parametrize(
    "change",
    [
        {"amount": 13501},
        {"due_date": date(2008, 2, 2)},
        {"bank_code": "237"},
        {"digitable_line": "00190.00009 01238.798779 77700.168188 5 37710000072356"},
        {"barcode": "00193376900000135000000001238798977770016819"},
    ],
)
def test_a_document_whose_numbers_disagree_is_refused(change: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        replace(document_for(VECTORS[0]), **change)  # type: ignore[arg-type]


def test_the_same_document_gives_the_same_bytes() -> None:
    document = document_for(VECTORS[0], pix=PIX)
    first = render_boleto_pdf(document)
    assert first.startswith(b"%PDF-")
    assert render_boleto_pdf(document) == first
    assert b"/CreationDate (D:20080120000000Z)" in first  # the issue date, not the clock
    assert render_boleto_pdf(replace(document, document_number="CHG-000124")) != first


def test_another_process_renders_the_same_bytes(tmp_path: Path) -> None:
    pdf = render_boleto_pdf(document_for(VECTORS[2]))
    script = (
        "import sys; from tests.unit.test_boleto_pdf import VECTORS, document_for;"
        "from assina.rules.boleto_pdf import render_boleto_pdf;"
        "sys.stdout.buffer.write(render_boleto_pdf(document_for(VECTORS[2])))"
    )
    other = subprocess.run(  # noqa: S603 - this interpreter, our own script
        [sys.executable, "-c", script],
        capture_output=True,
        check=True,
        timeout=60,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        cwd=Path(__file__).parents[2],
    ).stdout
    assert other == pdf


def test_text_outside_latin_1_loses_accents_instead_of_failing() -> None:
    document = replace(
        document_for(VECTORS[0]), payer=BoletoParty(name="Zoë Łukasz 李", document="1")
    )
    assert render_boleto_pdf(document).startswith(b"%PDF-")


# --- read back by real tools ----------------------------------------------------------------

PIX = pix_code(
    key="11222333000181",
    merchant_name="Escola Pequeno Príncipe",
    merchant_city="São Paulo",
    amount=13500,
    txid="CHG000123",
)


def barcode_box(raster: Raster) -> tuple[int, int, int, int]:
    """(left, right, top, bottom) pixels of the barcode: the lowest dark marks left of the
    PIX QR's column (x < 160 mm) are its bars."""
    limit = int(160 * PX_PER_MM)
    bottom = next(y for y in range(raster.height - 1, -1, -1) if raster.any_dark(y, 0, limit))
    row = [x for x in range(limit) if raster.dark(x, bottom)]
    left, right = row[0], row[-1]
    top = bottom
    while raster.dark(left, top - 1):
        top -= 1
    return left, right, top, bottom


@pytest.mark.parametrize("vector", VECTORS, ids=["convenio-8", "convenio-7", "convenio-6"])
def test_the_pdf_barcode_decodes_to_the_44_digits(vector: Vector, tmp_path: Path) -> None:
    rasteriser, extractor, decoder = tools()
    document = document_for(vector)
    pdf = tmp_path / "boleto.pdf"
    pdf.write_bytes(render_boleto_pdf(document))
    image, _ = rasterise(rasteriser, pdf)

    assert decode(decoder, image, "i25") == [document.barcode]

    text = text_of(extractor, pdf)
    for shown in (
        digitable_line(document.barcode),
        vector.amount_text,
        vector.due.strftime("%d/%m/%Y"),
        "001-9",
        "Pagável em qualquer banco",
        "Escola Pequeno Príncipe Ltda",
        "João Conceição",
        "11.222.333/0001-81",
        "529.982.247-25",
        "Após o vencimento, multa de 2,00% e juros de 1,00% ao mês",
        "Recibo do Pagador",
        "Ficha de Compensação",
    ):
        assert shown in text, shown
    # The line is printed twice: atop the receipt and atop the ficha.
    assert text.count(digitable_line(document.barcode)) == 2


def test_the_barcode_has_febrabans_dimensions_and_quiet_zones(tmp_path: Path) -> None:
    rasteriser, _, _ = tools()
    pdf = tmp_path / "boleto.pdf"
    pdf.write_bytes(render_boleto_pdf(document_for(VECTORS[0], pix=PIX)))
    _, raster = rasterise(rasteriser, pdf)
    left, right, top, bottom = barcode_box(raster)
    tolerance = 2  # pixels: 0.17 mm at 300 dpi
    assert abs((bottom - top + 1) - 13 * PX_PER_MM) <= tolerance  # 13 mm tall
    assert abs((right - left + 1) - 405 * 0.33 * PX_PER_MM) <= tolerance  # 133.65 mm wide
    first_bar = next(x for x in range(left, right) if not raster.dark(x, bottom)) - left
    assert abs(first_bar - 0.33 * PX_PER_MM) <= 1  # a narrow bar: 0.33 mm
    quiet = int(6.35 * PX_PER_MM)
    for y in range(top, bottom + 1):
        assert not raster.any_dark(y, left - quiet, left)
        assert not raster.any_dark(y, right + 1, right + 1 + quiet)


def test_with_a_pix_code_both_symbols_decode(tmp_path: Path) -> None:
    rasteriser, _, decoder = tools()
    document = document_for(VECTORS[0], pix=PIX)
    pdf = tmp_path / "boleto.pdf"
    pdf.write_bytes(render_boleto_pdf(document))
    image, _ = rasterise(rasteriser, pdf)
    assert sorted(decode(decoder, image, "i25", "qrcode")) == sorted([document.barcode, PIX])


def test_without_a_pix_code_there_is_no_qr(tmp_path: Path) -> None:
    rasteriser, _, decoder = tools()
    pdf = tmp_path / "boleto.pdf"
    pdf.write_bytes(render_boleto_pdf(document_for(VECTORS[1])))
    image, _ = rasterise(rasteriser, pdf)
    assert decode(decoder, image, "i25", "qrcode") == [PUBLISHED_BARCODES[1]]
