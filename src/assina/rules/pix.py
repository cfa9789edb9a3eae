"""PIX "copia e cola": the BR Code of Banco Central (EMV® QRCPS merchant-presented mode).

A code is a run of fields, each a 2-digit ID, a 2-digit length and the value; templates (26,
62) hold sub-fields in the same form. The last field, 63, is the CRC-16/CCITT-FALSE of the
whole code up to and including "6304", as 4 uppercase hex digits.

Normalisation of what the payer's bank shows: name (≤ 25) and city (≤ 15) lose their accents
(NFKD, combining marks dropped), any other character outside printable ASCII is dropped, runs
of whitespace become one space, and the result is trimmed, then truncated. The txid keeps only
ASCII letters and digits (≤ 25); empty means "***", a code without txid.

The QR code the payer scans (`pix_qr_svg`) is drawn by segno: error correction level M, the
standard quiet zone of 4 modules, as one SVG path in module units.
"""

from __future__ import annotations

import io
import unicodedata

import segno

GUI_PIX = "br.gov.bcb.pix"
GUI_PIX_DYNAMIC = "BR.GOV.BCB.PIX"  # as the manual's dynamic example writes it
DYNAMIC_INITIATION = "12"  # field 01: a code for one payment (a charge with a location)
MAX_LOCATION = 77  # template 26 holds at most 99 chars: 22 go to the GUI and the URL's header
MAX_KEY = 77  # template 26 holds at most 99 chars: 22 go to the GUI and the key's own header
MAX_NAME = 25
MAX_CITY = 15
MAX_TXID = 25
MAX_AMOUNT_CHARS = 13  # field 54: up to "9999999999.99"
NO_TXID = "***"
CRC_HEADER = "6304"
QR_QUIET_ZONE = 4  # modules: what ISO/IEC 18004 asks around a QR code


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
        table.append(crc & 0xFFFF)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final XOR."""
    crc = 0xFFFF
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC_TABLE[(crc >> 8) ^ byte]
    return crc


def emv_field(field_id: str, value: str) -> str:
    """ID + 2-digit length + value."""
    if len(field_id) != 2 or not (field_id.isascii() and field_id.isdigit()):
        raise ValueError(f"a field ID is two digits, not {field_id!r}")
    if len(value) > 99:
        raise ValueError(f"field {field_id} holds at most 99 characters, not {len(value)}")
    return f"{field_id}{len(value):02d}{value}"


def pix_code(
    *,
    key: str,
    merchant_name: str,
    merchant_city: str,
    amount: int | None = None,
    txid: str | None = None,
) -> str:
    """The static PIX code paying `amount` centavos (any amount when None or 0) to `key`."""
    if not 1 <= len(key) <= MAX_KEY or not _is_printable_ascii(key):
        raise ValueError(f"a PIX key is 1 to {MAX_KEY} printable ASCII characters")
    account = emv_field("00", GUI_PIX) + emv_field("01", key)
    return _code([], account, merchant_name, merchant_city, amount, _txid(txid))


def dynamic_pix_code(
    *,
    location: str,
    merchant_name: str,
    merchant_city: str,
    amount: int | None = None,
) -> str:
    """The dynamic PIX code of a charge a PSP keeps at `location` (a URL without its scheme,
    where the payer's bank reads the charge: its txid of 26 to 35 characters, its key and its
    amount). Field 01 is 12 (one payment), template 26 carries the URL (sub-field 25) instead
    of a key, and field 62/05 is `***`, as in Banco Central's dynamic example."""
    if not 1 <= len(location) <= MAX_LOCATION or not _is_printable_ascii(location):
        raise ValueError(f"a location is 1 to {MAX_LOCATION} printable ASCII characters")
    account = emv_field("00", GUI_PIX_DYNAMIC) + emv_field("25", location)
    initiation = [emv_field("01", DYNAMIC_INITIATION)]
    return _code(initiation, account, merchant_name, merchant_city, amount, NO_TXID)


def _code(
    initiation: list[str],
    account: str,
    merchant_name: str,
    merchant_city: str,
    amount: int | None,
    txid: str,
) -> str:
    """A BR Code: its header, field 01 when given, the account template (26), the amount
    when not None or 0, the merchant, the txid (62/05), then the CRC."""
    name = _required_text(merchant_name, MAX_NAME, "merchant name")
    city = _required_text(merchant_city, MAX_CITY, "merchant city")
    payload = [
        emv_field("00", "01"),
        *initiation,
        emv_field("26", account),
        emv_field("52", "0000"),
        emv_field("53", "986"),  # BRL
    ]
    if amount:
        payload.append(emv_field("54", _amount_text(amount)))
    payload += [
        emv_field("58", "BR"),
        emv_field("59", name),
        emv_field("60", city),
        emv_field("62", emv_field("05", txid)),
        CRC_HEADER,
    ]
    body = "".join(payload)
    return body + _crc_hex(body)


def shown_text(text: str, limit: int) -> str:
    """A merchant name or city as the code carries it (the normalisation above); '' when
    nothing printable is left, which `pix_code` refuses."""
    return _ascii_text(text, limit)


def parse_emv(code: str) -> dict[str, str]:
    """The top-level fields of an EMV code, by ID, in order (ValueError when malformed)."""
    fields: dict[str, str] = {}
    position = 0
    while position < len(code):
        head = code[position : position + 4]
        if len(head) < 4 or not (head.isascii() and head.isdigit()):
            raise ValueError(f"malformed field header at {position}")
        field_id, length = head[:2], int(head[2:])
        value = code[position + 4 : position + 4 + length]
        if len(value) != length:
            raise ValueError(f"field {field_id} runs past the end of the code")
        if field_id in fields:
            raise ValueError(f"field {field_id} appears twice")
        fields[field_id] = value
        position += 4 + length
    return fields


def crc_is_valid(code: str) -> bool:
    """Whether the code is well formed, ends with field 63 and its CRC matches."""
    if not code.isascii() or not code[:-4].endswith(CRC_HEADER):
        return False
    try:
        fields = parse_emv(code)
    except ValueError:
        return False
    return list(fields)[-1] == "63" and code[-4:] == _crc_hex(code[:-4])


def pix_qr_svg(code: str) -> str:
    """The QR code of a PIX code as a compact SVG: no XML declaration, a `viewBox` in modules
    and no width or height, so it scales to whatever box holds it, inlined in a page or carried
    in JSON. The dark modules are one black path on a transparent ground (the page puts it on
    a light one). The same code always gives the same text."""
    qr = _pix_qr(code)
    out = io.BytesIO()
    qr.save(
        out,
        kind="svg",
        border=QR_QUIET_ZONE,
        xmldecl=False,
        omitsize=True,
        svgclass=None,
        lineclass=None,
        nl=False,
    )
    return out.getvalue().decode("ascii")


def pix_qr_modules(code: str) -> tuple[tuple[bool, ...], ...]:
    """The same QR code as `pix_qr_svg`, as rows of modules (True is dark), quiet zone
    included: for a drawing that is not SVG (the boleto's PDF)."""
    qr = _pix_qr(code)
    return tuple(
        tuple(bool(module) for module in row) for row in qr.matrix_iter(border=QR_QUIET_ZONE)
    )


# --- helpers ------------------------------------------------------------------------------


def _pix_qr(code: str) -> segno.QRCode:
    if not code or not _is_printable_ascii(code):
        raise ValueError("a PIX code is printable ASCII text")
    # Level M exactly: segno's boost_error would raise it whenever the version leaves room,
    # and then the level would depend on the code's length.
    return segno.make_qr(code, error="m", boost_error=False)


def _crc_hex(body: str) -> str:
    return f"{crc16_ccitt_false(body.encode('ascii')):04X}"


def _is_printable_ascii(text: str) -> bool:
    return all(" " <= char <= "~" for char in text)


def _ascii_text(text: str, limit: int) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(
        char if _is_printable_ascii(char) else " " if char.isspace() else ""
        for char in decomposed
        if not unicodedata.combining(char)
    )
    # Collapse and trim whitespace, truncate, then trim what the cut may have exposed.
    return " ".join(kept.split())[:limit].rstrip()


def _required_text(text: str, limit: int, what: str) -> str:
    normalised = _ascii_text(text, limit)
    if not normalised:
        raise ValueError(f"the {what} has no printable character")
    return normalised


def _amount_text(amount: int) -> str:
    if amount < 0:
        raise ValueError("a PIX amount must not be negative")
    text = f"{amount // 100}.{amount % 100:02d}"
    if len(text) > MAX_AMOUNT_CHARS:
        raise ValueError(f"a PIX amount has at most {MAX_AMOUNT_CHARS} characters")
    return text


def _txid(txid: str | None) -> str:
    kept = "".join(char for char in txid or "" if char.isascii() and char.isalnum())
    return kept[:MAX_TXID] or NO_TXID
