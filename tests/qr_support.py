"""A QR code in SVG read back by a real decoder: `rsvg-convert` (Debian's librsvg2-bin)
rasterises it on white, `zbarimg` (zbar-tools) decodes it. Without the tools the test skips,
unless ASSINA_TEST_ALL_RECEIVERS=1 (CI installs them), where it fails."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

VIEWBOX = re.compile(r'viewBox="0 0 (\d+) (\d+)"')


def decoding_tools() -> tuple[str, str]:
    rasteriser, decoder = shutil.which("rsvg-convert"), shutil.which("zbarimg")
    if rasteriser is None or decoder is None:
        reason = "rsvg-convert (librsvg2-bin) or zbarimg (zbar-tools) is not installed"
        if os.environ.get("ASSINA_TEST_ALL_RECEIVERS") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return rasteriser, decoder


def decode_svg_qr(svg: str) -> str:
    """The text of the QR code drawn by `svg` (its modules in viewBox units)."""
    rasteriser, decoder = decoding_tools()
    viewbox = VIEWBOX.search(svg)
    assert viewbox is not None
    # 4 pixels a module, on white: what a phone's camera would see on the payment page.
    png = subprocess.run(  # noqa: S603 - our own SVG into a fixed tool
        [rasteriser, "--background-color=white", "--width", str(4 * int(viewbox.group(1)))],
        input=svg.encode(),
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout
    decoded = subprocess.run(  # noqa: S603 - our own PNG into a fixed tool
        [decoder, "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", "-"],
        input=png,
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout
    text = decoded.decode("ascii")
    assert text.endswith("\n")
    return text[:-1]
