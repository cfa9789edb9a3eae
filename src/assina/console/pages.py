"""Every console page's router, in the order of the menu."""

from __future__ import annotations

from fastapi import APIRouter

from assina.console import (
    charges,
    contracts,
    customers,
    dashboard,
    expenses,
    orders,
    products,
    test_clock,
)

ROUTERS: tuple[APIRouter, ...] = (
    dashboard.router,
    customers.router,
    products.router,
    contracts.router,
    charges.router,
    orders.router,
    expenses.router,
    test_clock.router,
)
