"""Pure business rules: no SQLAlchemy, no I/O; only the standard library, `assina.core`'s pure
modules, each other and pure libraries (segno draws the PIX QR code, fpdf2 writes the boleto's
PDF in memory). Everything above may call them; they call nothing above."""
