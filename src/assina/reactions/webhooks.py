"""Every event's webhook messages: one per enabled endpoint whose filter takes its type,
written in the event's transaction (the outbox), so a committed event is never without
its deliveries."""

from __future__ import annotations

from assina.events.reacting import Emitted
from assina.webhooks.fanout import enabled_endpoints, fan_out


async def webhook_messages(emitted: Emitted) -> None:
    """The emission's messages with one read of the endpoints and one INSERT; a ping goes to
    its one endpoint whatever that endpoint's filter."""
    session = emitted.session
    listeners = await enabled_endpoints(session, emitted.tenant_id, emitted.only_endpoint)
    await fan_out(session, emitted.events, listeners, emitted.due_at)
