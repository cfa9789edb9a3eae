"""What an emission hands to the reactions: the events just written, in one batch.

Events are the bottom of the reactions, not their owner: this module only defines what a
reactor is given and calls the one the entry point installed (`assina.reactions.install()`
in app, worker, cli and the tests' conftest), so that no domain imports what reacts to it.
Emitting with nothing installed is an error, never a silent event without its webhook
messages.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from assina.core.clock import Clock
from assina.db.scope import TenantScope


@dataclass(frozen=True)
class Emitted:
    """Events of one tenant written together (one event, or a batch of the billing
    calendar), in their order, in the session that wrote them and is still open.

    `events` are `events` rows by attribute name. `subjects` holds, per event, the row of
    what it is about when the emitter wrote that row in bulk (a reactor then needs no
    query), else None: it is in the session. `now` is the events' business time, `due_at`
    the real time their deliveries are due (`Clock.real_now`)."""

    session: AsyncSession
    clock: Clock
    tenant_id: str
    events: Sequence[Mapping[str, Any]]
    subjects: Sequence[Mapping[str, Any] | None]
    now: datetime
    due_at: datetime
    only_endpoint: str | None = None  # a ping: to this webhook endpoint alone

    def __iter__(self) -> Iterator[tuple[Mapping[str, Any], Mapping[str, Any] | None]]:
        return iter(zip(self.events, self.subjects, strict=True))

    @property
    def scope(self) -> TenantScope:
        """The session, clock and tenant that wrote the events, for what reacts to them."""
        return TenantScope(self.session, self.clock, self.tenant_id)

    def __len__(self) -> int:
        return len(self.events)

    def of_types(self, types: frozenset[str]) -> Emitted:
        """The same batch, only the events of these types (in order)."""
        kept = [(event, subject) for event, subject in self if event["type"] in types]
        return replace(
            self,
            events=[event for event, _ in kept],
            subjects=[subject for _, subject in kept],
        )


class Reactor(Protocol):
    """Runs, in the emitting session, whatever follows the events (assina/reactions)."""

    async def __call__(self, emitted: Emitted) -> None: ...


_installed: Reactor | None = None


def install_reactor(reactor: Reactor) -> None:
    """Set the process's reactor (once per entry point; installing again replaces it)."""
    global _installed
    _installed = reactor


async def react(emitted: Emitted) -> None:
    if _installed is None:
        raise RuntimeError(
            "events were emitted with no reactions installed: the entry point must call "
            "assina.reactions.install()"
        )
    await _installed(emitted)
