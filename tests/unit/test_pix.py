"""The PIX BR Code: Banco Central's published examples, and round trips for any input; its QR
code, read back by a real decoder.

The QR code is rasterised by `rsvg-convert` (Debian's librsvg2-bin) and decoded by `zbarimg`
(zbar-tools), both installed by .ci/run; without them those tests skip, unless
`ASSINA_TEST_ALL_RECEIVERS=1` (CI) turns the missing tool into a failure.
"""

from __future__ import annotations

import os
import re
import string
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assina.rules.pix import (
    crc16_ccitt_false,
    crc_is_valid,
    dynamic_pix_code,
    emv_field,
    parse_emv,
    pix_code,
    pix_qr_svg,
)
from tests.qr_support import VIEWBOX, decode_svg_qr

# ../shared/data/test-vectors.md (Banco Central's manual)
STATIC_EXAMPLE = (
    "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-4266554400005204000053039865802BR"
    "5913Fulano de Tal6008BRASILIA62070503***63041D3D"
)
DYNAMIC_EXAMPLE = (
    "00020101021226770014BR.GOV.BCB.PIX2555pix.example.com/qr/93598be0-1bd0-4997-8318-81776a1d"
    "8a995204000053039865802BR5907EMPRESA6009SAO PAULO62070503***6304EEAB"
)
PRINTABLE = "".join(chr(code) for code in range(0x20, 0x7F))

keys = st.text(PRINTABLE, min_size=1, max_size=77)
names = st.text(min_size=1, max_size=60).filter(
    lambda text: any(c.isascii() and c.isalnum() for c in text)
)
pix_amounts = st.none() | st.integers(0, 999_999_999_999)
txids = st.none() | st.text(
    st.sampled_from(string.ascii_letters + string.digits + "-/ ") | st.characters(), max_size=40
)


def test_the_published_static_example_is_reproduced_exactly() -> None:
    code = pix_code(
        key="123e4567-e12b-12d1-a456-426655440000",
        merchant_name="Fulano de Tal",
        merchant_city="BRASILIA",
    )
    assert code == STATIC_EXAMPLE


def test_crc_check_value() -> None:
    assert crc16_ccitt_false(b"123456789") == 0x29B1  # the catalogue's check value
    assert crc16_ccitt_false(b"") == 0xFFFF


@pytest.mark.parametrize("code", [STATIC_EXAMPLE, DYNAMIC_EXAMPLE])
def test_the_published_codes_check(code: str) -> None:
    assert crc_is_valid(code)


@pytest.mark.parametrize("code", [STATIC_EXAMPLE, DYNAMIC_EXAMPLE])
def test_changing_any_one_character_breaks_the_check(code: str) -> None:
    for position, original in enumerate(code):
        for replacement in PRINTABLE + "ç":
            if replacement != original:
                changed = code[:position] + replacement + code[position + 1 :]
                assert not crc_is_valid(changed), (position, replacement)


@pytest.mark.parametrize(
    "code", ["", "6304", STATIC_EXAMPLE[:-1], STATIC_EXAMPLE + "0", STATIC_EXAMPLE.lower()]
)
def test_truncated_or_mangled_codes_do_not_check(code: str) -> None:
    assert not crc_is_valid(code)


def test_fields_are_id_length_value() -> None:
    assert emv_field("59", "Fulano de Tal") == "5913Fulano de Tal"
    assert emv_field("62", "") == "6200"
    assert emv_field("26", "x" * 99) == "2699" + "x" * 99
    with pytest.raises(ValueError):
        emv_field("26", "x" * 100)
    with pytest.raises(ValueError):
        emv_field("6", "x")


def test_parse_emv_reads_the_top_level_fields() -> None:
    fields = parse_emv(STATIC_EXAMPLE)
    assert fields == {
        "00": "01",
        "26": "0014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-426655440000",
        "52": "0000",
        "53": "986",
        "58": "BR",
        "59": "Fulano de Tal",
        "60": "BRASILIA",
        "62": "0503***",
        "63": "1D3D",
    }


@pytest.mark.parametrize("code", ["0", "00020", "0002010", "0a01x", "00010000010", "00020101"])
def test_parse_emv_refuses_malformed_codes(code: str) -> None:
    with pytest.raises(ValueError):
        parse_emv(code)


@pytest.mark.parametrize(
    ("amount", "field"), [(1000, "10.00"), (1, "0.01"), (99990, "999.90"), (123456, "1234.56")]
)
def test_the_amount_is_written_with_a_point(amount: int, field: str) -> None:
    code = pix_code(key="k", merchant_name="N", merchant_city="C", amount=amount)
    assert parse_emv(code)["54"] == field


@pytest.mark.parametrize("amount", [None, 0])
def test_no_amount_leaves_field_54_out(amount: int | None) -> None:
    code = pix_code(key="k", merchant_name="N", merchant_city="C", amount=amount)
    assert "54" not in parse_emv(code)


def test_accents_are_stripped_and_lengths_truncated() -> None:
    code = pix_code(
        key="+5561999999999",
        merchant_name="  Associação  Recreativa\tSão João do Meriti ",
        merchant_city="São José dos Campos",
        txid="pedido-2026/04 nº 17",
    )
    fields = parse_emv(code)
    assert fields["59"] == "Associacao Recreativa Sao"  # 25 characters
    assert fields["60"] == "Sao Jose dos Ca"  # 15 characters
    assert parse_emv(fields["62"]) == {"05": "pedido202604n17"}  # º is dropped, not decomposed
    assert crc_is_valid(code)


def test_a_long_txid_is_cut_to_25_characters() -> None:
    code = pix_code(key="k", merchant_name="N", merchant_city="C", txid="AB-" + "1" * 30)
    assert parse_emv(parse_emv(code)["62"]) == {"05": "AB" + "1" * 23}


@pytest.mark.parametrize("txid", [None, "", "---", "çã"])
def test_no_usable_txid_is_three_asterisks(txid: str | None) -> None:
    code = pix_code(key="k", merchant_name="N", merchant_city="C", txid=txid)
    assert parse_emv(code)["62"] == "0503***"


def test_a_cut_never_leaves_a_trailing_space() -> None:
    code = pix_code(key="k", merchant_name="N", merchant_city="Rio de Janeiro RJ")
    assert parse_emv(code)["60"] == "Rio de Janeiro"


@pytest.mark.parametrize(
    "changes",
    [
        {"key": ""},
        {"key": "k" * 78},
        {"key": "chave-ç"},
        {"merchant_name": "  ✓ "},
        {"merchant_city": ""},
        {"amount": -1},
        {"amount": 10**12},  # 13 characters at most: 9999999999.99
    ],
)
def test_impossible_codes_are_refused(changes: dict[str, object]) -> None:
    arguments: dict[str, object] = {"key": "k", "merchant_name": "N", "merchant_city": "C"}
    with pytest.raises(ValueError):
        pix_code(**{**arguments, **changes})  # type: ignore[arg-type]


@given(key=keys, name=names, city=names, amount=pix_amounts, txid=txids)
def test_any_code_parses_back_and_checks(
    key: str, name: str, city: str, amount: int | None, txid: str | None
) -> None:
    code = pix_code(key=key, merchant_name=name, merchant_city=city, amount=amount, txid=txid)
    assert code.isascii()
    assert crc_is_valid(code)
    fields = parse_emv(code)
    # every length prefix matches: writing the parsed fields again gives the same code
    assert "".join(emv_field(field_id, value) for field_id, value in fields.items()) == code
    assert list(fields) == [
        *["00", "26", "52", "53"],
        *(["54"] if amount else []),
        *["58", "59", "60", "62", "63"],
    ]
    assert parse_emv(fields["26"]) == {"00": "br.gov.bcb.pix", "01": key}
    if amount:
        assert round(float(fields["54"]) * 100) == amount
        assert fields["54"] == f"{amount // 100}.{amount % 100:02d}"
    for field_id, limit in (("59", 25), ("60", 15)):
        assert 1 <= len(fields[field_id]) <= limit
        assert fields[field_id] == fields[field_id].strip()
        assert all(char in PRINTABLE for char in fields[field_id])
    expected_txid = "".join(c for c in txid or "" if c in string.ascii_letters + string.digits)
    assert parse_emv(fields["62"]) == {"05": expected_txid[:25] or "***"}


@given(name=st.text(PRINTABLE, min_size=1, max_size=40).filter(str.strip))
def test_plain_ascii_names_are_kept_as_given(name: str) -> None:
    code = pix_code(key="k", merchant_name=name, merchant_city=name)
    fields = parse_emv(code)
    assert fields["59"] == " ".join(name.split())[:25].rstrip()
    assert fields["60"] == " ".join(name.split())[:15].rstrip()


# --- the QR code ---------------------------------------------------------------------------

ACCENTED_CODE = pix_code(
    key="+5561999999999",
    merchant_name="Associação Recreativa",
    merchant_city="São Paulo",
    amount=123456,
    txid="pedido-2026/04",
)
QR_EXAMPLES = [STATIC_EXAMPLE, DYNAMIC_EXAMPLE, ACCENTED_CODE]
# ISO/IEC 18004 format information: the 2 bits of the error correction level, once unmasked.
LEVEL_BITS = {0b01: "L", 0b00: "M", 0b11: "Q", 0b10: "H"}
FORMAT_MASK = 0b101010000010010


def dark_modules(svg: str) -> set[tuple[int, int]]:
    """The dark modules (x, y) an SVG path of horizontal runs draws (M/m moves, h runs)."""
    path = re.fullmatch(r'.*<path [^>]*d="([^"]+)"/>.*', svg)
    assert path is not None
    dark: set[tuple[int, int]] = set()
    x = y = 0.0
    for command, dx, dy in re.findall(r"([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?", path.group(1)):
        if command == "M":
            x, y = float(dx), float(dy)
        elif command == "m":
            x, y = x + float(dx), y + float(dy)
        else:
            run = int(float(dx))
            dark.update((int(x) + step, int(y)) for step in range(run))
            x += run
    return dark


def error_correction_level(dark: set[tuple[int, int]], quiet: int) -> str:
    """Read from the format information beside the top-left finder pattern."""
    cells = [(column, 8) for column in (0, 1, 2, 3, 4, 5, 7, 8)]
    cells += [(8, row) for row in (7, 5, 4, 3, 2, 1, 0)]
    bits = 0
    for column, row in cells:
        bits = bits << 1 | ((column + quiet, row + quiet) in dark)
    return LEVEL_BITS[(bits ^ FORMAT_MASK) >> 13]


@pytest.mark.parametrize("code", QR_EXAMPLES)
def test_the_qr_svg_is_one_scalable_path(code: str) -> None:
    svg = pix_qr_svg(code)
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ')
    assert svg.endswith("</svg>")
    assert "<?xml" not in svg
    assert "\n" not in svg
    assert svg.count("<path") == 1
    assert not re.search(r"\s(width|height)=", svg)  # no pixel size: it scales
    assert len(svg) < 8000  # compact enough to inline in a page and in JSON


@pytest.mark.parametrize("code", QR_EXAMPLES)
def test_the_qr_has_level_m_and_a_quiet_zone_of_4(code: str) -> None:
    svg = pix_qr_svg(code)
    viewbox = VIEWBOX.search(svg)
    assert viewbox is not None
    size = int(viewbox.group(1))
    assert viewbox.group(2) == viewbox.group(1)
    symbol = size - 2 * 4
    assert (symbol - 17) % 4 == 0  # a QR symbol is 17 + 4 * version modules wide
    dark = dark_modules(svg)
    # Nothing in the quiet zone; the finder patterns' corners sit right inside it.
    assert all(4 <= x < size - 4 and 4 <= y < size - 4 for x, y in dark)
    assert {(4, 4), (size - 5, 4), (4, size - 5)} <= dark
    assert error_correction_level(dark, quiet=4) == "M"


def test_the_static_example_takes_version_8_at_level_m() -> None:
    # 137 bytes: ISO/IEC 18004's byte capacity is 122 at 7-M and 152 at 8-M (154 at 7-L), so
    # level M needs version 8: 49 modules, 57 with the quiet zone.
    assert len(STATIC_EXAMPLE) == 137
    assert 'viewBox="0 0 57 57"' in pix_qr_svg(STATIC_EXAMPLE)


def test_a_short_code_stays_at_level_m() -> None:
    # 10 bytes fit version 1 at level Q too; the level must not be raised to fill the room.
    svg = pix_qr_svg("0123456789")
    assert 'viewBox="0 0 29 29"' in svg
    assert error_correction_level(dark_modules(svg), quiet=4) == "M"


@pytest.mark.parametrize("code", QR_EXAMPLES)
def test_the_same_code_draws_the_same_svg(code: str) -> None:
    assert pix_qr_svg(code) == pix_qr_svg(code)
    assert pix_qr_svg(code) != pix_qr_svg(code[:-1])


def test_another_process_draws_the_same_svg() -> None:
    # Nothing may hang on the process: set iteration order, hash seeds, the time.
    script = "import sys; from assina.rules.pix import pix_qr_svg; print(pix_qr_svg(sys.argv[1]))"
    other = subprocess.run(  # noqa: S603 - the suite's own interpreter and script
        [sys.executable, "-c", script, ACCENTED_CODE],
        capture_output=True,
        check=True,
        timeout=60,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    ).stdout
    assert other.decode("ascii") == pix_qr_svg(ACCENTED_CODE) + "\n"


@pytest.mark.parametrize("code", ["", "código", "line\nbreak"])
def test_a_qr_of_anything_but_printable_ascii_is_refused(code: str) -> None:
    with pytest.raises(ValueError):
        pix_qr_svg(code)


@pytest.mark.parametrize("code", QR_EXAMPLES)
def test_a_real_decoder_reads_the_code_back(code: str) -> None:
    assert decode_svg_qr(pix_qr_svg(code)) == code


def test_the_published_dynamic_example_is_reproduced_exactly() -> None:
    code = dynamic_pix_code(
        location="pix.example.com/qr/93598be0-1bd0-4997-8318-81776a1d8a99",
        merchant_name="EMPRESA",
        merchant_city="SAO PAULO",
    )
    assert code == DYNAMIC_EXAMPLE


@given(
    location=st.text(PRINTABLE, min_size=1, max_size=77),
    name=names,
    city=names,
    amount=pix_amounts,
)
def test_a_dynamic_code_verifies_and_carries_its_location(
    location: str, name: str, city: str, amount: int | None
) -> None:
    code = dynamic_pix_code(
        location=location, merchant_name=name, merchant_city=city, amount=amount
    )

    assert crc_is_valid(code)
    fields = parse_emv(code)
    assert fields["01"] == "12"
    assert parse_emv(fields["26"])["25"] == location
    assert parse_emv(fields["62"])["05"] == "***"
