"""Every console page's router, in the order of the menu."""

from __future__ import annotations

from fastapi import APIRouter

from assina.console import (
    charges,
    customers,
    dashboard,
    test_clock,
    webhook_endpoint,
    webhooks,
)

ROUTERS: tuple[APIRouter, ...] = (
    dashboard.router,
    customers.router,
    charges.router,
    webhooks.router,  # before the endpoint's page: `/new` is not an endpoint's id
    webhook_endpoint.router,
    test_clock.router,
)
