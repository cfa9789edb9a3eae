"""Imports every domain's models so that `Base.metadata` knows all tables (for Alembic and the
tests). It imports from every floor, so it stands at the top (pyproject.toml's layers contract),
not in `db/`: only the migrations' environment script and the tests read it."""

from __future__ import annotations

from assina.billing_settings.models import BillingSettings
from assina.charges.models import Charge
from assina.contracts.models import Contract
from assina.core.idempotency import IdempotencyKey
from assina.core.ratelimit import RateBucket
from assina.customers.models import Customer
from assina.db.base import Base
from assina.dunning.models import DunningPolicyRow
from assina.events.models import Event
from assina.expenses.models import Expense
from assina.fiscal.models import FiscalInvoice, FiscalIssuerJob
from assina.fiscal.sandbox.models import SandboxFiscalInvoice
from assina.fiscal_settings.models import FiscalSettings
from assina.notifications.models import Email, EmailSettings, EmailTemplate
from assina.orders.models import Order
from assina.payment_settings.models import InboundToken, PaymentSettings
from assina.payments.models import (
    CardAttempt,
    CustomerCard,
    InboundEvent,
    ReconciliationMark,
    Registration,
)
from assina.payments.sandbox.models import SandboxCharge, SandboxPayment
from assina.price_indexes.models import PriceIndexValue
from assina.products.models import Product
from assina.suppliers.models import Supplier
from assina.tenants.models import ApiKey, Tenant, TenantCounter
from assina.users.models import ConsoleLoginThrottle, ConsoleSession, ConsoleUser
from assina.webhooks.models import WebhookAttempt, WebhookEndpoint, WebhookMessage

ALL_MODELS = (
    Tenant,
    ApiKey,
    TenantCounter,
    IdempotencyKey,
    Customer,
    Product,
    Event,
    WebhookEndpoint,
    WebhookMessage,
    WebhookAttempt,
    Contract,
    Charge,
    BillingSettings,
    PriceIndexValue,
    DunningPolicyRow,
    EmailTemplate,
    EmailSettings,
    Email,
    RateBucket,
    PaymentSettings,
    InboundToken,
    InboundEvent,
    ReconciliationMark,
    SandboxPayment,
    CustomerCard,
    CardAttempt,
    SandboxCharge,
    Registration,
    FiscalSettings,
    FiscalInvoice,
    FiscalIssuerJob,
    SandboxFiscalInvoice,
    Order,
    Supplier,
    Expense,
    ConsoleUser,
    ConsoleSession,
    ConsoleLoginThrottle,
)
metadata = Base.metadata
