"""Every console page's router, in the order of the menu."""

from __future__ import annotations

from fastapi import APIRouter

from assina.console import (
    api_keys,
    charges,
    contracts,
    customers,
    dashboard,
    email_templates,
    expenses,
    fiscal_invoices,
    orders,
    products,
    settings,
    test_clock,
    users,
    webhook_endpoint,
    webhooks,
)

ROUTERS: tuple[APIRouter, ...] = (
    dashboard.router,
    customers.router,
    products.router,
    contracts.router,
    fiscal_invoices.router,  # before charges': /charges/{id}/fiscal-invoice is not a move
    charges.router,
    orders.router,
    expenses.router,
    webhooks.router,  # before the endpoint's page: `/new` is not an endpoint's id
    webhook_endpoint.router,
    settings.router,
    email_templates.router,
    api_keys.router,
    users.router,
    test_clock.router,
)
