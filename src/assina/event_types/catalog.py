"""The shape of each event type's `data`: the emitting domain's response schema, or for the
webhooks' own events the shapes in events/shapes.py."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from assina.charges.schemas import ChargeOut
from assina.contracts.schemas import ContractOut, ContractReadjustedOut
from assina.customers.schemas import CustomerOut, CustomerStatusChangedOut
from assina.events import shapes
from assina.events.catalog import EventType
from assina.expenses.schemas import ExpenseOut
from assina.fiscal.schemas import FiscalInvoiceOut
from assina.orders.schemas import OrderStatusChangedOut
from assina.payments.schemas import CardDeclinedOut
from assina.products.schemas import ProductOut

DATA_MODELS: dict[EventType, type[BaseModel]] = {
    EventType.CUSTOMER_CREATED: CustomerOut,
    EventType.CUSTOMER_UPDATED: CustomerOut,
    EventType.CUSTOMER_DEACTIVATED: CustomerOut,
    EventType.CUSTOMER_REACTIVATED: CustomerOut,
    EventType.CUSTOMER_STATUS_CHANGED: CustomerStatusChangedOut,
    EventType.PRODUCT_CREATED: ProductOut,
    EventType.PRODUCT_UPDATED: ProductOut,
    EventType.PRODUCT_DEACTIVATED: ProductOut,
    EventType.PRODUCT_DELETED: ProductOut,
    EventType.CONTRACT_CREATED: ContractOut,
    EventType.CONTRACT_UPDATED: ContractOut,
    EventType.CONTRACT_DELETED: ContractOut,
    EventType.CONTRACT_CANCELLED: ContractOut,
    EventType.CHARGE_CREATED: ChargeOut,
    EventType.CHARGE_UPDATED: ChargeOut,
    EventType.CHARGE_SETTLED: ChargeOut,
    EventType.CHARGE_REVERSED: ChargeOut,
    EventType.CHARGE_INVALIDATED: ChargeOut,
    EventType.CHARGE_REACTIVATED: ChargeOut,
    EventType.CONTRACT_READJUSTED: ContractReadjustedOut,
    EventType.EXPENSE_SETTLED: ExpenseOut,
    EventType.EXPENSE_REVERSED: ExpenseOut,
    EventType.EXPENSE_UPDATED: ExpenseOut,
    EventType.CARD_DECLINED: CardDeclinedOut,
    EventType.ORDER_STATUS_CHANGED: OrderStatusChangedOut,
    EventType.FISCAL_INVOICE_ISSUED: FiscalInvoiceOut,
    EventType.FISCAL_INVOICE_REJECTED: FiscalInvoiceOut,
    EventType.FISCAL_INVOICE_CANCELLED: FiscalInvoiceOut,
    EventType.WEBHOOK_PING: shapes.PingShape,
    EventType.ENDPOINT_DISABLED: shapes.EndpointDisabledShape,
    EventType.EXPENSE_CREATED: ExpenseOut,
}


def data_model(event_type: EventType) -> type[BaseModel]:
    return DATA_MODELS[event_type]


def data_schema(event_type: EventType) -> dict[str, Any]:
    """The JSON Schema of the event's `data`, as it is sent."""
    return data_model(event_type).model_json_schema(mode="serialization")
