"""Pure business rules: no SQLAlchemy, no I/O; only the standard library, `assina.core`'s pure
modules and each other. Everything above may call them; they call nothing above."""
