"""Every event's webhook messages: one per enabled endpoint whose filter takes its type,
written in the event's transaction (the outbox), so a committed event is never without
its deliveries."""

from __future__ import annotations

from assina.events.reacting import Emitted
from assina.webhooks.fanout import enabled_endpoints, fan_out, fan_out_many


async def webhook_messages(emitted: Emitted) -> None:
    """The batch's messages with one read of the endpoints and one INSERT; a ping goes to
    its one endpoint whatever that endpoint's filter."""
    session = emitted.session
    if emitted.only_endpoint is not None:
        for event in emitted.events:
            await fan_out(session, event, emitted.due_at, emitted.only_endpoint)
        return
    listeners = await enabled_endpoints(session, emitted.tenant_id)
    await fan_out_many(session, emitted.events, listeners, emitted.due_at)
