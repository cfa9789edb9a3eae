"""The printable boleto: one A4 page, the payer's receipt (recibo do pagador) on top and the
clearing slip (ficha de compensação) at the bottom, with the barcode as vector bars.

`render_boleto_pdf(document)` is pure: the same `BoletoDocument` always gives the same bytes
(the PDF's creation date is the boleto's issue date, and its file ID a hash of the content and
that date). The caller formats what only it knows (CPF/CNPJ, addresses, the instruction lines:
`late_fee_instruction` writes the usual one); this module formats amounts (`R$ 1.234,56`) and
dates (`dd/mm/aaaa`).

The barcode is Interleaved 2 of 5 (`interleaved_2_of_5`), as FEBRABAN asks, drawn as vector
bars: narrow 0.33 mm, wide 3 times that, 13 mm tall, a quiet zone of 6.35 mm (¼ in) either
side. docs/payments.md, "The printable boleto", gives the source of each number.

The text uses the PDF's built-in Helvetica, whose encoding (Latin-1) holds Portuguese; any
other character loses its accent or becomes "?" (`_printable`).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING

from assina.rules.boleto import (
    BARCODE_LENGTH,
    barcode_from_line,
    check_barcode,
    due_date_factor,
)
from assina.rules.pix import pix_qr_modules

if TYPE_CHECKING:
    from fpdf import FPDF

# --- Interleaved 2 of 5 ---------------------------------------------------------------------

NARROW = 1
WIDE = 3  # the wide element in narrow units (FEBRABAN's 1:3)
# Each digit's five elements, narrow (N) or wide (W): the symbology's published table.
I2OF5_PATTERNS = {
    "0": "NNWWN",
    "1": "WNNNW",
    "2": "NWNNW",
    "3": "WWNNN",
    "4": "NNWNW",
    "5": "WNWNN",
    "6": "NWWNN",
    "7": "NNNWW",
    "8": "WNNWN",
    "9": "NWNWN",
}
I2OF5_START = (NARROW, NARROW, NARROW, NARROW)  # bar, space, bar, space
I2OF5_STOP = (WIDE, NARROW, NARROW)  # bar, space, bar


def interleaved_2_of_5(digits: str) -> list[int]:
    """The element widths (in narrow units: 1 narrow, 3 wide) of the Interleaved 2 of 5 symbol
    of `digits`, bar first and then alternating bar and space: the start pattern, each pair
    of digits (the first in the five bars, the second in the five spaces between them), the
    stop pattern. The count of digits must be even; ValueError otherwise or for non-digits."""
    if not digits or not all(char in I2OF5_PATTERNS for char in digits):
        raise ValueError(f"Interleaved 2 of 5 encodes ASCII digits only, not {digits!r}")
    if len(digits) % 2:
        raise ValueError(f"Interleaved 2 of 5 encodes an even count of digits, not {len(digits)}")
    widths = list(I2OF5_START)
    for position in range(0, len(digits), 2):
        bars = I2OF5_PATTERNS[digits[position]]
        spaces = I2OF5_PATTERNS[digits[position + 1]]
        for bar, space in zip(bars, spaces, strict=True):
            widths += [_width(bar), _width(space)]
    widths += I2OF5_STOP
    return widths


def _width(element: str) -> int:
    return WIDE if element == "W" else NARROW


# --- what the boleto says -------------------------------------------------------------------

PLACE_OF_PAYMENT = "Pagável em qualquer banco"


@dataclass(frozen=True)
class BoletoParty:
    """The beneficiary (beneficiário) or the payer (pagador), as printed."""

    name: str
    # CPF or CNPJ, formatted by the caller ("11.222.333/0001-81"); None when there is none.
    document: str | None
    address: str | None = None


@dataclass(frozen=True)
class BoletoDocument:
    """Everything one printed boleto shows. Its numbers must agree with each other: the
    barcode checks, the digitable line is that barcode's, and the barcode carries this bank,
    amount and due date (ValueError otherwise: a boleto that pays something else than it says
    must never be printed)."""

    bank_code: str  # "001"
    bank_name: str  # "Banco do Brasil"
    digitable_line: str  # formatted: "00190.00009 01238.798977 77700.168188 3 37690000013500"
    barcode: str  # the 44 digits
    beneficiary: BoletoParty
    agency_code: str  # agência / código do beneficiário, as the bank writes it: "4042-8 / 61900-0"
    payer: BoletoParty
    our_number: str  # nosso número
    document_number: str  # the charge's number
    issue_date: date
    due_date: date
    amount: int  # centavos
    instructions: tuple[str, ...] = ()
    pix_code: str | None = None  # the boleto-PIX hybrid: its QR is drawn beside the barcode

    def __post_init__(self) -> None:
        check_barcode(self.barcode)
        if barcode_from_line(self.digitable_line) != self.barcode:
            raise ValueError("the digitable line is not the barcode's")
        if self.barcode[:3] != self.bank_code:
            raise ValueError(f"the barcode is bank {self.barcode[:3]}'s, not {self.bank_code}'s")
        if int(self.barcode[9:19]) != self.amount:
            raise ValueError(
                f"the barcode pays {int(self.barcode[9:19])} centavos, not {self.amount}"
            )
        if int(self.barcode[5:9]) != due_date_factor(self.due_date):
            raise ValueError(f"the barcode's due-date factor is not {self.due_date}'s")


def bank_code_digit(bank_code: str) -> int:
    """The check digit printed after a bank's code (`001-9`, `237-2`, `341-7`, `104-0`): mod 11
    of the three digits, weights 2, 3, 4 from the right; 10 and 11 become 0."""
    if len(bank_code) != 3 or not (bank_code.isascii() and bank_code.isdigit()):
        raise ValueError(f"a bank code is 3 digits, not {bank_code!r}")
    total = sum(
        int(char) * weight for char, weight in zip(reversed(bank_code), (2, 3, 4), strict=True)
    )
    digit = 11 - total % 11
    return 0 if digit >= 10 else digit


def format_brl(amount: int) -> str:
    """Centavos as a payer reads them: `R$ 1.234,56`."""
    units, cents = divmod(abs(amount), 100)
    whole = f"{units:,}".replace(",", ".")
    return f"{'-' if amount < 0 else ''}R$ {whole},{cents:02d}"


def format_date(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def format_percent(percent: Decimal) -> str:
    """`Decimal("2")` → `2,00%`; places beyond the second only when they count (`1,0333%`)."""
    two_places = percent.quantize(Decimal("0.01"))
    shown = two_places if two_places == percent else percent.normalize()
    return f"{shown:f}".replace(".", ",") + "%"


def late_fee_instruction(fine_percent: Decimal, monthly_interest_percent: Decimal) -> str | None:
    """The instruction line of a tenant's late fees (percents as `BillingRules` holds them:
    `Decimal("2")` is 2 %): "Após o vencimento, multa de 2,00% e juros de 1,00% ao mês". A
    zero rate is left out; None when both are zero."""
    if fine_percent < 0 or monthly_interest_percent < 0:
        raise ValueError("late-fee percents must not be negative")
    parts = []
    if fine_percent:
        parts.append(f"multa de {format_percent(fine_percent)}")
    if monthly_interest_percent:
        parts.append(f"juros de {format_percent(monthly_interest_percent)} ao mês")
    if not parts:
        return None
    return "Após o vencimento, " + " e ".join(parts)


# --- the page -------------------------------------------------------------------------------

MM_PER_INCH = 25.4
NARROW_BAR_MM = 0.33
BAR_HEIGHT_MM = 13.0
QUIET_ZONE_MM = MM_PER_INCH / 4  # ¼ in: above 10 narrow bars (3.3 mm) and FEBRABAN's 5 mm
QR_SIZE_MM = 32.0  # the PIX QR, quiet zone included

MARGIN = 10.0
CONTENT_WIDTH = 190.0  # A4's 210 mm less both margins
RIGHT_COLUMN = 48.0  # the ficha's right column: vencimento, agência, nosso número, values
LEFT_COLUMN = CONTENT_WIDTH - RIGHT_COLUMN
HEADER_HEIGHT = 10.0
ROW = 8.0
RECEIPT_TOP = 10.0
CUT_LINE_Y = 150.0
SLIP_TOP = 158.0  # on A4 the ficha goes at the foot of the page (Banco do Brasil's spec)

FONT = "Helvetica"
LABEL_SIZE = 5.5
VALUE_SIZE = 8.5
LABEL_HEIGHT = 2.6


def render_boleto_pdf(document: BoletoDocument) -> bytes:
    """The boleto as a one-page A4 PDF: recibo do pagador above, ficha de compensação below
    with the barcode (and the PIX QR when the document has a PIX code). Same input, same
    bytes."""
    from fpdf import FPDF  # fpdf2 and fontTools take ~0.7 s to import: only to draw one

    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    # A fixed creation date: the file ID is a hash of the content and this date.
    pdf.set_creation_date(datetime.combine(document.issue_date, time(), tzinfo=UTC))
    pdf.set_title(_printable(f"Boleto {document.document_number}"))
    pdf.set_creator("assina")
    pdf.set_lang("pt-BR")
    pdf.set_auto_page_break(auto=False)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.add_page()
    pdf.set_line_width(0.2)
    _receipt(pdf, document)
    _cut_line(pdf)
    bottom = _slip(pdf, document)
    _barcode(pdf, document.barcode, x=MARGIN + QUIET_ZONE_MM, y=bottom + 6)
    if document.pix_code is not None:
        _pix_qr(pdf, document.pix_code, x=MARGIN + CONTENT_WIDTH - QR_SIZE_MM, y=bottom + 5)
    return bytes(pdf.output())


def _receipt(pdf: FPDF, document: BoletoDocument) -> None:
    pdf.set_font(FONT, "B", 9)
    pdf.set_xy(MARGIN, RECEIPT_TOP)
    pdf.cell(CONTENT_WIDTH, 4, "Recibo do Pagador", align="R")
    y = _header(pdf, document, RECEIPT_TOP + 4)
    beneficiary, payer = document.beneficiary, document.payer
    _row(
        pdf,
        y,
        [
            (100, "Beneficiário", beneficiary.name),
            (42, "CPF/CNPJ do beneficiário", beneficiary.document or ""),
            (48, "Agência / Código do beneficiário", document.agency_code),
        ],
    )
    y += ROW
    _row(
        pdf,
        y,
        [
            (100, "Pagador", payer.name),
            (42, "CPF/CNPJ do pagador", payer.document or ""),
            (48, "Nosso número", document.our_number),
        ],
    )
    y += ROW
    _row(
        pdf,
        y,
        [
            (42, "Nº do documento", document.document_number),
            (34, "Data do documento", format_date(document.issue_date)),
            (24, "Espécie", "R$"),
            (42, "Vencimento", format_date(document.due_date)),
            (48, "Valor do documento", format_brl(document.amount)),
        ],
        bold_last=True,
    )
    y += ROW
    _row(pdf, y, [(CONTENT_WIDTH, "Endereço do beneficiário", beneficiary.address or "")])
    y += ROW
    _text_box(pdf, MARGIN, y, CONTENT_WIDTH, 30, "Instruções", document.instructions)
    y += 30
    _label(pdf, MARGIN, y + 1, CONTENT_WIDTH, "Autenticação mecânica", align="R")


def _cut_line(pdf: FPDF) -> None:
    with pdf.local_context():
        pdf.set_dash_pattern(dash=1, gap=1)
        pdf.line(MARGIN, CUT_LINE_Y, MARGIN + CONTENT_WIDTH, CUT_LINE_Y)
    _label(pdf, MARGIN, CUT_LINE_Y + 0.5, CONTENT_WIDTH, "Corte na linha pontilhada", align="R")


def _slip(pdf: FPDF, document: BoletoDocument) -> float:
    """The ficha de compensação's boxes; answers the y where they end."""
    y = _header(pdf, document, SLIP_TOP)
    right = MARGIN + LEFT_COLUMN
    _row(pdf, y, [(LEFT_COLUMN, "Local de pagamento", PLACE_OF_PAYMENT)])
    _field(
        pdf,
        right,
        y,
        RIGHT_COLUMN,
        ROW,
        "Vencimento",
        format_date(document.due_date),
        "R",
        bold=True,
    )
    y += ROW
    beneficiary = document.beneficiary
    _party(pdf, y, LEFT_COLUMN, "Beneficiário", beneficiary)
    _field(
        pdf,
        right,
        y,
        RIGHT_COLUMN,
        11,
        "Agência / Código do beneficiário",
        document.agency_code,
        "R",
    )
    y += 11
    _row(
        pdf,
        y,
        [
            (32, "Data do documento", format_date(document.issue_date)),
            (42, "Nº do documento", document.document_number),
            (32, "Data do processamento", format_date(document.issue_date)),
            (LEFT_COLUMN - 106, "Espécie", "R$"),
        ],
    )
    _field(pdf, right, y, RIGHT_COLUMN, ROW, "Nosso número", document.our_number, "R")
    y += ROW
    values = [
        ("(=) Valor do documento", format_brl(document.amount)),
        ("(-) Desconto / Abatimento", ""),
        ("(+) Juros / Multa", ""),
        ("(=) Valor cobrado", ""),
    ]
    value_row = 8.75
    _text_box(
        pdf,
        MARGIN,
        y,
        LEFT_COLUMN,
        value_row * len(values),
        "Instruções (texto de responsabilidade do beneficiário)",
        document.instructions,
    )
    for index, (label, value) in enumerate(values):
        _field(
            pdf,
            right,
            y + index * value_row,
            RIGHT_COLUMN,
            value_row,
            label,
            value,
            "R",
            bold=index == 0,
        )
    y += value_row * len(values)
    _party(pdf, y, CONTENT_WIDTH, "Pagador", document.payer)
    y += 11
    pdf.set_font(FONT, "B", 7)
    pdf.set_xy(MARGIN, y + 0.5)
    pdf.cell(CONTENT_WIDTH, 3, "Autenticação mecânica - Ficha de Compensação", align="R")
    return y


def _header(pdf: FPDF, document: BoletoDocument, y: float) -> float:
    """Bank name, `001-9` and the digitable line over a thick rule; answers the y below it."""
    code = f"{document.bank_code}-{bank_code_digit(document.bank_code)}"
    pdf.set_font(FONT, "B", 11)
    pdf.set_xy(MARGIN, y + 2)
    pdf.cell(46, 6, _fit(pdf, _printable(document.bank_name), 46))
    pdf.line(MARGIN + 47, y + 1, MARGIN + 47, y + HEADER_HEIGHT)
    pdf.set_font(FONT, "B", 15)
    pdf.set_xy(MARGIN + 47, y + 2)
    pdf.cell(24, 6, code, align="C")
    pdf.line(MARGIN + 71, y + 1, MARGIN + 71, y + HEADER_HEIGHT)
    pdf.set_font(FONT, "B", 10.5)
    pdf.set_xy(MARGIN + 72, y + 2.5)
    pdf.cell(CONTENT_WIDTH - 72, 6, document.digitable_line, align="R")
    with pdf.local_context():
        pdf.set_line_width(0.6)
        pdf.line(MARGIN, y + HEADER_HEIGHT, MARGIN + CONTENT_WIDTH, y + HEADER_HEIGHT)
    return y + HEADER_HEIGHT


def _row(
    pdf: FPDF, y: float, cells: list[tuple[float, str, str]], *, bold_last: bool = False
) -> None:
    x = MARGIN
    for index, (width, label, value) in enumerate(cells):
        bold = bold_last and index == len(cells) - 1
        _field(pdf, x, y, width, ROW, label, value, "R" if bold else "L", bold=bold)
        x += width


def _field(
    pdf: FPDF,
    x: float,
    y: float,
    width: float,
    height: float,
    label: str,
    value: str,
    align: str = "L",
    *,
    bold: bool = False,
) -> None:
    pdf.rect(x, y, width, height)
    _label(pdf, x + 0.8, y + 0.5, width - 1.6, label)
    pdf.set_font(FONT, "B" if bold else "", VALUE_SIZE)
    pdf.set_xy(x + 0.8, y + height - 4.8)
    pdf.cell(width - 1.6, 4.2, _fit(pdf, _printable(value), width - 1.6), align=align)


def _party(pdf: FPDF, y: float, width: float, label: str, party: BoletoParty) -> None:
    """A beneficiary or payer box: name and CPF/CNPJ, then the address."""
    pdf.rect(MARGIN, y, width, 11)
    _label(pdf, MARGIN + 0.8, y + 0.5, width - 1.6, label)
    pdf.set_font(FONT, "", VALUE_SIZE)
    pdf.set_xy(MARGIN + 0.8, y + 3)
    line = party.name if party.document is None else f"{party.name}   CPF/CNPJ: {party.document}"
    pdf.cell(width - 1.6, 4, _fit(pdf, _printable(line), width - 1.6))
    if party.address:
        pdf.set_font(FONT, "", 7)
        pdf.set_xy(MARGIN + 0.8, y + 6.8)
        pdf.cell(width - 1.6, 3.5, _fit(pdf, _printable(party.address), width - 1.6))


def _text_box(
    pdf: FPDF, x: float, y: float, width: float, height: float, label: str, lines: tuple[str, ...]
) -> None:
    pdf.rect(x, y, width, height)
    _label(pdf, x + 0.8, y + 0.5, width - 1.6, label)
    pdf.set_font(FONT, "", 7.5)
    line_height = 3.6
    room = int((height - 4) // line_height)  # lines beyond the box are not printed
    for index, line in enumerate(lines[:room]):
        pdf.set_xy(x + 0.8, y + 3.6 + index * line_height)
        pdf.cell(width - 1.6, line_height, _fit(pdf, _printable(line), width - 1.6))


def _label(pdf: FPDF, x: float, y: float, width: float, text: str, align: str = "L") -> None:
    pdf.set_font(FONT, "", LABEL_SIZE)
    pdf.set_xy(x, y)
    pdf.cell(width, LABEL_HEIGHT, text, align=align)


def _barcode(pdf: FPDF, code: str, *, x: float, y: float) -> None:
    """The barcode as black rectangles, one a bar; the spaces are the paper."""
    if len(code) != BARCODE_LENGTH:
        raise ValueError(f"a boleto barcode has {BARCODE_LENGTH} digits, not {len(code)}")
    pdf.set_fill_color(0, 0, 0)
    for index, width in enumerate(interleaved_2_of_5(code)):
        if index % 2 == 0:
            pdf.rect(x, y, width * NARROW_BAR_MM, BAR_HEIGHT_MM, style="F")
        x += width * NARROW_BAR_MM


def _pix_qr(pdf: FPDF, code: str, *, x: float, y: float) -> None:
    """The PIX QR (level M, 4-module quiet zone, as `pix_qr_svg`), a rectangle per run of
    dark modules in a row, and its caption."""
    modules = pix_qr_modules(code)
    size = QR_SIZE_MM / len(modules)
    pdf.set_fill_color(0, 0, 0)
    for row, cells in enumerate(modules):
        column = 0
        while column < len(cells):
            if not cells[column]:
                column += 1
                continue
            run = column
            while run < len(cells) and cells[run]:
                run += 1
            pdf.rect(x + column * size, y + row * size, (run - column) * size, size, style="F")
            column = run
    pdf.set_font(FONT, "B", 7)
    pdf.set_xy(x, y + QR_SIZE_MM)
    pdf.cell(QR_SIZE_MM, 3, "Pague também com PIX", align="C")


def _printable(text: str) -> str:
    """Text the built-in font can draw (Latin-1): other characters lose their accents
    (NFKD) or become "?"; control characters become spaces."""
    kept = []
    for char in text:
        if not char.isprintable():
            kept.append(" ")
        elif _latin1(char):
            kept.append(char)
        else:
            plain = "".join(
                part
                for part in unicodedata.normalize("NFKD", char)
                if _latin1(part) and not unicodedata.combining(part)
            )
            kept.append(plain or "?")
    return "".join(kept)


def _latin1(char: str) -> bool:
    return ord(char) < 0x100


def _fit(pdf: FPDF, text: str, width: float) -> str:
    """The text, cut and ended with "..." when it is wider than the box."""
    if pdf.get_string_width(text) <= width:
        return text
    while text and pdf.get_string_width(text + "...") > width:
        text = text[:-1]
    return text.rstrip() + "..."
