"""Reactions: what follows an event in its own transaction (table.py). Installed once by each
entry point, below which no package imports this one."""

from __future__ import annotations

from assina.events.reacting import install_reactor
from assina.reactions.table import run_reactions


def install() -> None:
    """Make event emission run the reactions table (app, worker, cli, tests' conftest)."""
    install_reactor(run_reactions)
