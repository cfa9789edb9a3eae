"""The DPS (Declaração de Prestação de Serviço) of an invoice, in the national NFS-e standard's
XML (Padrão Nacional, DPS_v1.01.xsd as nfelib ships it), unsigned: what a direct sender to the
national API would sign (XML-DSig with the emitter's A1 certificate, docs/fiscal.md) and send.

What assina fills: the identification (Id = "DPS" + cLocEmi + tpInsc + inscFed + serie +
nDPS; series 1, nDPS assina's invoice number), the emitter (CNPJ, inscrição municipal, not
optant for the Simples Nacional, no special regime), the taker (CPF or CNPJ, or none when the
customer has no document; name; e-mail when the schema takes it), the service (provided in the
emitter's municipality, cTribNac, description), and the values (the service's value, ISS
taxable in the municipality, retained by the taker or not, the rate, no total-tax
disclosure).
"""

from __future__ import annotations

import re
from datetime import UTC, timedelta, timezone
from decimal import Decimal
from xml.etree import ElementTree as ET

from assina.fiscal.providers import InvoiceOrder
from assina.rules.fiscal import HOMOLOGATION

NAMESPACE = "http://www.sped.fazenda.gov.br/nfse"
VERSION = "1.01"
APPLICATION = "assina"
SERIES = 1
# dhEmi is written in Brasília time: the standard takes offsets of whole hours.
BRASILIA = timezone(timedelta(hours=-3))
NOT_RETAINED, RETAINED_BY_TAKER = "1", "2"
TAXABLE = "1"  # tribISSQN: operação tributável
NOT_SIMPLES = "1"  # opSimpNac: não optante
NO_SPECIAL_REGIME = "0"
NOT_DISCLOSED = "0"  # indTotTrib
# TSString (the e-mail): Latin-1 without control characters, no space at either end.
_SCHEMA_TEXT = re.compile(r"^[!-\u00ff]([ -\u00ff]*[!-\u00ff])?$")
MAX_EMAIL = 80


def dps_id(order: InvoiceOrder) -> str:
    emitter = order.emitter.cnpj
    kind = "1" if len(emitter) == 11 else "2"
    return (
        f"DPS{order.emitter.municipality_code}{kind}{emitter.zfill(14)}"
        f"{SERIES:05d}{order.invoice_number:015d}"
    )


def _money(minor: int) -> str:
    return f"{Decimal(minor) / 100:.2f}"


def _rate(bp: int) -> str:
    return "0" if bp == 0 else f"{Decimal(bp) / 100:.2f}"


def _add(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    child = ET.SubElement(parent, f"{{{NAMESPACE}}}{tag}")
    if text is not None:
        child.text = text
    return child


def build_dps(order: InvoiceOrder, environment: int = HOMOLOGATION) -> bytes:
    """The DPS of `order` as UTF-8 XML with its declaration."""
    ET.register_namespace("", NAMESPACE)
    root = ET.Element(f"{{{NAMESPACE}}}DPS", {"versao": VERSION})
    info = _add(root, "infDPS")
    info.set("Id", dps_id(order))
    issued = order.requested_at.astimezone(UTC).astimezone(BRASILIA)
    _add(info, "tpAmb", str(environment))
    _add(info, "dhEmi", issued.replace(microsecond=0).isoformat())
    _add(info, "verAplic", APPLICATION)
    _add(info, "serie", str(SERIES))
    _add(info, "nDPS", str(order.invoice_number))
    _add(info, "dCompet", order.competence_date.isoformat())
    _add(info, "tpEmit", "1")  # the provider itself
    _add(info, "cLocEmi", order.emitter.municipality_code)
    _emitter(info, order)
    _taker(info, order)
    _service(info, order)
    _values(info, order)
    xml: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return xml


def _emitter(info: ET.Element, order: InvoiceOrder) -> None:
    prest = _add(info, "prest")
    _add(prest, "CNPJ", order.emitter.cnpj)
    if order.emitter.municipal_registration:
        _add(prest, "IM", order.emitter.municipal_registration)
    regime = _add(prest, "regTrib")
    _add(regime, "opSimpNac", NOT_SIMPLES)
    _add(regime, "regEspTrib", NO_SPECIAL_REGIME)


def _taker(info: ET.Element, order: InvoiceOrder) -> None:
    taker = order.taker
    if taker.document is None:
        return  # an unidentified taker: the DPS has no `toma`
    toma = _add(info, "toma")
    _add(toma, "CPF" if len(taker.document) == 11 else "CNPJ", taker.document)
    _add(toma, "xNome", taker.name[:300])
    email = taker.email
    if email and len(email) <= MAX_EMAIL and _SCHEMA_TEXT.match(email):
        _add(toma, "email", email)


def _service(info: ET.Element, order: InvoiceOrder) -> None:
    serv = _add(info, "serv")
    place = _add(serv, "locPrest")
    _add(place, "cLocPrestacao", order.emitter.municipality_code)
    code = _add(serv, "cServ")
    _add(code, "cTribNac", order.service_code)
    _add(code, "xDescServ", order.service_description)


def _values(info: ET.Element, order: InvoiceOrder) -> None:
    values = _add(info, "valores")
    _add(_add(values, "vServPrest"), "vServ", _money(order.amount))
    trib = _add(values, "trib")
    municipal = _add(trib, "tribMun")
    _add(municipal, "tribISSQN", TAXABLE)
    _add(municipal, "tpRetISSQN", RETAINED_BY_TAKER if order.iss_retained else NOT_RETAINED)
    _add(municipal, "pAliq", _rate(order.iss_rate_bp))
    _add(_add(trib, "totTrib"), "indTotTrib", NOT_DISCLOSED)
