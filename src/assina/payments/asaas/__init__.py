"""Asaas (API v3) as a provider of every rail: the HTTP client, the adapter of the provider
interfaces (payments/providers.py) and the reader of its webhooks. docs/payments.md, "The
Asaas adapter"."""
