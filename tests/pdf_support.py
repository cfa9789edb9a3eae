"""A PDF read back by real tools: rasterised by `pdftoppm` (Debian's poppler-utils), its
barcodes and QR codes decoded by `zbarimg` (zbar-tools), its text extracted by `pdftotext`
(poppler-utils). Without the tools a test skips, unless ASSINA_TEST_ALL_RECEIVERS=1 (CI
installs them), where it fails. One rasterisation per PDF, at 300 dpi."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

DPI = 300
PX_PER_MM = DPI / 25.4


def tools() -> tuple[str, str, str]:
    found = [shutil.which(name) for name in ("pdftoppm", "pdftotext", "zbarimg")]
    if None in found:
        reason = "pdftoppm, pdftotext (poppler-utils) or zbarimg (zbar-tools) is not installed"
        if os.environ.get("ASSINA_TEST_ALL_RECEIVERS") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    rasteriser, extractor, decoder = found
    assert rasteriser and extractor and decoder
    return rasteriser, extractor, decoder


@dataclass(frozen=True)
class Raster:
    """A greyscale page (PGM, one byte a pixel, 0 black) as pdftoppm draws it."""

    width: int
    height: int
    pixels: bytes

    def dark(self, x: int, y: int) -> bool:
        return self.pixels[y * self.width + x] < 128

    def any_dark(self, y: int, start: int, stop: int) -> bool:
        """Whether row y has a dark pixel in [start, stop)."""
        row = self.pixels[y * self.width + start : y * self.width + stop]
        return bool(row) and min(row) < 128


def rasterise(rasteriser: str, pdf: Path) -> tuple[Path, Raster]:
    subprocess.run(  # noqa: S603 - our own PDF into a fixed tool
        [rasteriser, "-r", str(DPI), "-gray", "-singlefile", str(pdf), str(pdf.with_suffix(""))],
        check=True,
        timeout=60,
    )
    image = pdf.with_suffix(".pgm")
    data = image.read_bytes()
    magic, width, height, depth, pixels = data.split(maxsplit=4)
    assert (magic, depth) == (b"P5", b"255")
    return image, Raster(int(width), int(height), pixels)


def decode(decoder: str, image: Path, *symbologies: str) -> list[str]:
    enabled = [f"-S{name}.enable" for name in symbologies]
    out = subprocess.run(  # noqa: S603 - our own image into a fixed tool
        [decoder, "--quiet", "--raw", "-Sdisable", *enabled, str(image)],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    return out.decode("ascii").splitlines()


def text_of(extractor: str, pdf: Path) -> str:
    return subprocess.run(  # noqa: S603 - our own PDF into a fixed tool
        [extractor, "-layout", str(pdf), "-"], capture_output=True, check=True, timeout=60
    ).stdout.decode("utf-8")
