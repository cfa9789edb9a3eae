"""The built-in sandbox fiscal issuer: a small remote issuer on loopback HTTP."""
