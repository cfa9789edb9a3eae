"""The event catalog: the 26 seed events (names fixed by product.md §3) and our extras, with
their Portuguese labels. What each event's `data` looks like is published above the domains,
in event_types/catalog.py: the domains' response schemas cannot be read from here, where every
domain emits from."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class EventType(StrEnum):
    CUSTOMER_CREATED = "customer.created"
    CUSTOMER_UPDATED = "customer.updated"
    CUSTOMER_DEACTIVATED = "customer.deactivated"
    CUSTOMER_REACTIVATED = "customer.reactivated"
    CUSTOMER_STATUS_CHANGED = "customer.status_changed"
    PRODUCT_CREATED = "product.created"
    PRODUCT_UPDATED = "product.updated"
    PRODUCT_DEACTIVATED = "product.deactivated"
    PRODUCT_DELETED = "product.deleted"
    CONTRACT_CREATED = "contract.created"
    CONTRACT_UPDATED = "contract.updated"
    CONTRACT_DELETED = "contract.deleted"
    CONTRACT_CANCELLED = "contract.cancelled"
    CHARGE_CREATED = "charge.created"
    CHARGE_UPDATED = "charge.updated"
    CHARGE_SETTLED = "charge.settled"
    CHARGE_REVERSED = "charge.reversed"
    CHARGE_INVALIDATED = "charge.invalidated"
    CHARGE_REACTIVATED = "charge.reactivated"
    CONTRACT_READJUSTED = "contract.readjusted"
    EXPENSE_SETTLED = "expense.settled"
    EXPENSE_REVERSED = "expense.reversed"
    EXPENSE_UPDATED = "expense.updated"
    CARD_DECLINED = "card.declined"
    ORDER_STATUS_CHANGED = "order.status_changed"
    FISCAL_INVOICE_ISSUED = "fiscal_invoice.issued"
    # Beyond the seed's 26: the rest of a nota fiscal's life.
    FISCAL_INVOICE_REJECTED = "fiscal_invoice.rejected"
    FISCAL_INVOICE_CANCELLED = "fiscal_invoice.cancelled"
    # Beyond the seed's 26: about the webhooks themselves.
    WEBHOOK_PING = "webhook.ping"
    ENDPOINT_DISABLED = "endpoint.disabled"
    # Beyond the seed's 26: an expense recorded (product.md §8).
    EXPENSE_CREATED = "expense.created"


# Every event of the catalog is raised by some code path today; an event type added before
# its feature goes here (GET /v1/event-types then says `raised: false`).
NOT_RAISED_YET: frozenset[EventType] = frozenset()


@dataclass(frozen=True)
class EventKind:
    name: EventType
    label: str
    description: str

    @property
    def raised(self) -> bool:
        return self.name not in NOT_RAISED_YET


CATALOG: tuple[EventKind, ...] = (
    EventKind(
        EventType.CUSTOMER_CREATED,
        "Cliente novo",
        "Um cliente foi cadastrado.",
    ),
    EventKind(
        EventType.CUSTOMER_UPDATED,
        "Cliente atualizado",
        "Dados do cliente foram alterados.",
    ),
    EventKind(
        EventType.CUSTOMER_DEACTIVATED,
        "Cliente desativado",
        "O cliente foi desativado.",
    ),
    EventKind(
        EventType.CUSTOMER_REACTIVATED,
        "Cliente reativado",
        "O cliente foi reativado.",
    ),
    EventKind(
        EventType.CUSTOMER_STATUS_CHANGED,
        "Cliente status",
        "A situação do cliente mudou: adimplente, inadimplente ou suspenso.",
    ),
    EventKind(
        EventType.PRODUCT_CREATED,
        "Produto ou serviço novo",
        "Um produto ou serviço foi cadastrado.",
    ),
    EventKind(
        EventType.PRODUCT_UPDATED,
        "Produto ou serviço atualizado",
        "Dados do produto ou serviço foram alterados.",
    ),
    EventKind(
        EventType.PRODUCT_DEACTIVATED,
        "Produto ou serviço desativado",
        "O produto ou serviço foi desativado e não pode ser vendido.",
    ),
    EventKind(
        EventType.PRODUCT_DELETED,
        "Produto ou serviço excluído",
        "O produto ou serviço foi excluído.",
    ),
    EventKind(
        EventType.CONTRACT_CREATED,
        "Contrato novo",
        "Um contrato (assinatura) foi criado.",
    ),
    EventKind(
        EventType.CONTRACT_UPDATED,
        "Contrato atualizado",
        "O contrato mudou: dados, fim do trial, suspensão ou retomada.",
    ),
    EventKind(
        EventType.CONTRACT_DELETED,
        "Contrato excluído",
        "Um contrato sem cobranças foi excluído.",
    ),
    EventKind(
        EventType.CONTRACT_CANCELLED,
        "Contrato cancelado",
        "O contrato foi cancelado.",
    ),
    EventKind(
        EventType.CHARGE_CREATED,
        "Cobrança criada",
        "Uma cobrança foi gerada.",
    ),
    EventKind(
        EventType.CHARGE_UPDATED,
        "Cobrança atualizada",
        "Uma cobrança em aberto foi alterada.",
    ),
    EventKind(
        EventType.CHARGE_SETTLED,
        "Cobrança liquidada",
        "Uma cobrança foi paga.",
    ),
    EventKind(
        EventType.CHARGE_REVERSED,
        "Cobrança estornada",
        "Uma cobrança paga foi estornada.",
    ),
    EventKind(
        EventType.CHARGE_INVALIDATED,
        "Cobrança invalidada",
        "Uma cobrança em aberto foi invalidada.",
    ),
    EventKind(
        EventType.CHARGE_REACTIVATED,
        "Cobrança reativada",
        "Uma cobrança invalidada voltou a ficar em aberto.",
    ),
    EventKind(
        EventType.CONTRACT_READJUSTED,
        "Mensalidade reajustada",
        "O valor do contrato foi reajustado por percentual ou índice.",
    ),
    EventKind(
        EventType.EXPENSE_SETTLED,
        "Despesa liquidada",
        "Uma despesa foi paga.",
    ),
    EventKind(
        EventType.EXPENSE_REVERSED,
        "Despesa estornada",
        "O pagamento de uma despesa foi estornado.",
    ),
    EventKind(
        EventType.EXPENSE_UPDATED,
        "Despesa alterada",
        "Dados de uma despesa foram alterados.",
    ),
    EventKind(
        EventType.CARD_DECLINED,
        "Cartão de crédito negado",
        "Uma tentativa de cobrança no cartão foi negada pela operadora.",
    ),
    EventKind(
        EventType.ORDER_STATUS_CHANGED,
        "Pedido status",
        "Um pedido mudou de situação.",
    ),
    EventKind(
        EventType.FISCAL_INVOICE_ISSUED,
        "Nota fiscal convertida",
        "Uma cobrança liquidada foi convertida em nota fiscal de serviço (NFS-e).",
    ),
    EventKind(
        EventType.FISCAL_INVOICE_REJECTED,
        "Nota fiscal rejeitada",
        "O emissor recusou a nota fiscal de serviço (NFS-e) de uma cobrança.",
    ),
    EventKind(
        EventType.FISCAL_INVOICE_CANCELLED,
        "Nota fiscal cancelada",
        "Uma nota fiscal de serviço (NFS-e) emitida foi cancelada no emissor.",
    ),
    EventKind(
        EventType.WEBHOOK_PING,
        "Teste de webhook",
        "Enviado a um único endpoint por POST /v1/webhook-endpoints/{id}/ping.",
    ),
    EventKind(
        EventType.ENDPOINT_DISABLED,
        "Endpoint desativado",
        "Um endpoint de webhook foi desativado: respondeu 410 ou falhou por 5 dias.",
    ),
    EventKind(
        EventType.EXPENSE_CREATED,
        "Despesa nova",
        "Uma despesa (conta a pagar) foi cadastrada.",
    ),
)

_LABELS: dict[str, str] = {kind.name.value: kind.label for kind in CATALOG}


def label_of(event_type: str) -> str:
    return _LABELS.get(event_type, event_type)
