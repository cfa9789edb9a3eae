"""The printable nota fiscal: a DANFSe-like A4 page assina renders itself (fpdf2, the PDF's
built-in Helvetica as the boleto's, rules/boleto_pdf.py): the NFS-e's numbers, verification
code and access key, the emitter and the taker, the service, the values and the ISS, and a QR
code of the national portal's public consultation of the access key.

`render_danfse(document)` is pure: the same document always gives the same bytes;
`danfse_of(invoice, customer, tenant)` is the document of an invoice as it stands (the API's
`GET /v1/fiscal-invoices/{id}.pdf` and the `fiscal_invoice` e-mail's attachment)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING

from assina.core.documents import format_document
from assina.customers.models import Customer
from assina.fiscal.models import FiscalInvoice
from assina.fiscal_settings.models import FiscalProvider
from assina.rules.boleto_pdf import format_brl, format_date
from assina.rules.pix import pix_qr_modules
from assina.tenants.models import Tenant, TenantMode

if TYPE_CHECKING:
    from fpdf import FPDF

CONSULTATION_URL = "https://www.nfse.gov.br/ConsultaPublica/?tpc=1&chave={key}"
FONT = "helvetica"
MARGIN = 12.0
WIDTH = 210 - 2 * MARGIN
QR_MM = 32.0
LINE = 5.0


@dataclass(frozen=True)
class DanfseDocument:
    invoice_number: int
    nfse_number: str | None
    verification_code: str | None
    access_key: str | None
    status: str
    issued_at: datetime | None
    competence_date: date
    emitter_name: str
    emitter_cnpj: str
    emitter_municipal_registration: str | None
    municipality_code: str
    taker_name: str
    taker_document: str | None
    taker_email: str | None
    service_code: str
    service_description: str
    amount: int
    iss_rate_bp: int
    iss_amount: int
    iss_retained: bool
    sandbox: bool


def danfse_of(invoice: FiscalInvoice, customer: Customer, tenant: Tenant) -> DanfseDocument:
    return DanfseDocument(
        invoice_number=invoice.number,
        nfse_number=invoice.nfse_number,
        verification_code=invoice.verification_code,
        access_key=invoice.access_key,
        status=invoice.status.value,
        issued_at=invoice.issued_at,
        competence_date=invoice.competence_date,
        emitter_name=tenant.name,
        emitter_cnpj=invoice.emitter_cnpj,
        emitter_municipal_registration=invoice.emitter_municipal_registration,
        municipality_code=invoice.municipality_code,
        taker_name=customer.name,
        taker_document=customer.document,
        taker_email=customer.email,
        service_code=invoice.service_code,
        service_description=invoice.service_description,
        amount=invoice.amount,
        iss_rate_bp=invoice.iss_rate_bp,
        iss_amount=invoice.iss_amount,
        iss_retained=invoice.iss_retained,
        sandbox=invoice.provider == FiscalProvider.SANDBOX or tenant.mode == TenantMode.SANDBOX,
    )


def consultation_url(access_key: str) -> str:
    return CONSULTATION_URL.format(key=access_key)


def render_danfse(document: DanfseDocument) -> bytes:
    from fpdf import FPDF  # fpdf2 and fontTools take ~0.7 s to import: only to draw one

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_auto_page_break(auto=False)
    pdf.set_creation_date(datetime.combine(document.competence_date, time(12), tzinfo=UTC))
    pdf.set_title(f"NFS-e {document.nfse_number or document.invoice_number}")
    pdf.add_page()
    y = _header(pdf, document)
    y = _section(pdf, y, "PRESTADOR DE SERVIÇOS", _emitter_lines(document))
    y = _section(pdf, y, "TOMADOR DE SERVIÇOS", _taker_lines(document))
    y = _section(pdf, y, "DISCRIMINAÇÃO DO SERVIÇO", _service_lines(pdf, document))
    y = _section(pdf, y, "VALORES E ISSQN", _value_lines(document))
    if document.access_key:
        _qr(pdf, consultation_url(document.access_key), y + 4)
    return bytes(pdf.output())


def _header(pdf: FPDF, document: DanfseDocument) -> float:
    pdf.set_font(FONT, "B", 14)
    pdf.set_xy(MARGIN, MARGIN)
    pdf.cell(WIDTH, 8, "DANFSe - Documento Auxiliar da NFS-e", align="C")
    pdf.set_font(FONT, "", 9)
    lines = [
        f"Número da NFS-e: {document.nfse_number or '(aguardando emissão)'}    "
        f"Nota assina nº {document.invoice_number}",
        f"Código de verificação: {document.verification_code or '-'}",
        f"Chave de acesso: {_spaced(document.access_key) if document.access_key else '-'}",
        f"Emissão: {_when(document.issued_at)}    Competência: "
        f"{format_date(document.competence_date)}    Situação: {_status(document.status)}",
    ]
    if document.sandbox:
        lines.append("AMBIENTE DE TESTES (sandbox) - SEM VALOR FISCAL")
    y = MARGIN + 10
    for line in lines:
        pdf.set_xy(MARGIN, y)
        pdf.cell(WIDTH, LINE, _printable(line))
        y += LINE
    return y + 2


def _section(pdf: FPDF, y: float, title: str, lines: list[str]) -> float:
    pdf.set_draw_color(0, 0, 0)
    height = LINE * (len(lines) + 1) + 2
    pdf.rect(MARGIN, y, WIDTH, height)
    pdf.set_font(FONT, "B", 9)
    pdf.set_xy(MARGIN + 2, y + 1)
    pdf.cell(WIDTH - 4, LINE, title)
    pdf.set_font(FONT, "", 9)
    for index, line in enumerate(lines, start=1):
        pdf.set_xy(MARGIN + 2, y + 1 + index * LINE)
        pdf.cell(WIDTH - 4, LINE, _printable(line))
    return y + height + 3


def _emitter_lines(document: DanfseDocument) -> list[str]:
    return [
        f"Nome: {document.emitter_name}",
        f"CNPJ: {format_document(document.emitter_cnpj)}    Inscrição municipal: "
        f"{document.emitter_municipal_registration or '-'}",
        f"Município (IBGE): {document.municipality_code}",
    ]


def _taker_lines(document: DanfseDocument) -> list[str]:
    kind = "CPF" if document.taker_document and len(document.taker_document) == 11 else "CNPJ"
    shown = format_document(document.taker_document) if document.taker_document else "-"
    return [
        f"Nome: {document.taker_name}",
        f"{kind if document.taker_document else 'CPF/CNPJ'}: {shown}",
        f"E-mail: {document.taker_email or '-'}",
    ]


def _service_lines(pdf: FPDF, document: DanfseDocument) -> list[str]:
    pdf.set_font(FONT, "", 9)
    lines = [f"Código de tributação nacional (cTribNac): {document.service_code}"]
    for paragraph in document.service_description.splitlines() or [""]:
        lines.extend(_wrapped(pdf, _printable(paragraph), WIDTH - 4))
    return lines[:20]


def _value_lines(document: DanfseDocument) -> list[str]:
    retained = "Sim (retido pelo tomador)" if document.iss_retained else "Não"
    net = document.amount - (document.iss_amount if document.iss_retained else 0)
    return [
        f"Valor do serviço: {format_brl(document.amount)}",
        f"Alíquota do ISSQN: {document.iss_rate_bp / 100:.2f}%".replace(".", ","),
        f"Valor do ISSQN: {format_brl(document.iss_amount)}    ISSQN retido: {retained}",
        f"Valor líquido: {format_brl(net)}",
    ]


def _qr(pdf: FPDF, url: str, y: float) -> None:
    modules = pix_qr_modules(url)
    size = QR_MM / len(modules)
    x = MARGIN
    pdf.set_fill_color(0, 0, 0)
    for row, cells in enumerate(modules):
        for column, dark in enumerate(cells):
            if dark:
                pdf.rect(x + column * size, y + row * size, size, size, style="F")
    pdf.set_font(FONT, "", 8)
    pdf.set_xy(x + QR_MM + 4, y + QR_MM / 2 - 4)
    pdf.cell(WIDTH - QR_MM - 4, 4, "Consulte a autenticidade no Portal Nacional da NFS-e:")
    pdf.set_xy(x + QR_MM + 4, y + QR_MM / 2)
    pdf.cell(WIDTH - QR_MM - 4, 4, _printable(url))


def _wrapped(pdf: FPDF, text: str, width: float) -> list[str]:
    words, lines, line = text.split(" "), [], ""
    for word in words:
        candidate = f"{line} {word}".strip()
        if pdf.get_string_width(candidate) <= width or not line:
            line = candidate
        else:
            lines.append(line)
            line = word
    lines.append(line)
    return lines


def _spaced(key: str) -> str:
    return " ".join(key[index : index + 5] for index in range(0, len(key), 5))


def _when(instant: datetime | None) -> str:
    return instant.astimezone(UTC).strftime("%d/%m/%Y %H:%M UTC") if instant else "-"


_STATUSES = {
    "pending": "Aguardando emissão",
    "issued": "Emitida",
    "rejected": "Rejeitada",
    "cancelled": "Cancelada",
}


def _status(status: str) -> str:
    return _STATUSES.get(status, status)


def _printable(text: str) -> str:
    """Text Helvetica (Latin-1) can draw: anything else becomes "?"."""
    return "".join(char if ord(char) < 0x100 and char.isprintable() else "?" for char in text)
