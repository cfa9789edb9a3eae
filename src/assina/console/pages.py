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
    orders,
    products,
    settings,
    test_clock,
    users,
)

ROUTERS: tuple[APIRouter, ...] = (
    dashboard.router,
    customers.router,
    products.router,
    contracts.router,
    charges.router,
    orders.router,
    expenses.router,
    settings.router,
    email_templates.router,
    api_keys.router,
    users.router,
    test_clock.router,
)
