"""Payments: the providers of each rail (card gateway, boleto issuer, PIX provider), what they
tell assina (inbound notifications), and the charges they settle."""
