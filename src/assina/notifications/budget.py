"""The render budget: what rendering one part of one e-mail may cost, and where it runs.

Each check of the sandbox (templates.py) is local: one `replace` may build 1,000,000
characters, one `*` 1,000 items. Put together — a loop whose body calls `replace`, 600 `~`
of such calls — they built gigabytes for seconds (issue 13). So each rendering of a part
(`subject`, `html` or `text`, once per set of variables) also spends from one `Budget`,
counted in the sandbox's hooks:

- `output`: characters printed;
- `built`: characters (or items) built by every filter, method, `~` and `*`, added up;
- `iterations`: loop iterations, every loop of the part added up;
- `items`: what one filter that sorts, groups or maps may go over;
- `seconds`: wall-clock time (`time.monotonic`: a CPU budget, not business time), checked in
  the same hooks, every few of them: without loops a template is straight-line code no
  longer than its source, every loop turn passes a hook, and what runs between two hooks is
  bounded by the sizes above. A rendering still running after 2 ms sleeps 1 ms in every 2
  (see `Budget.tick`).

Going over any of them raises `BudgetExceeded`, a `SecurityError` naming the cap, which the
caller turns into the usual `TemplateFailure`: a 422 at save or preview, the default
template (and a note on the e-mail) when sent.

Rendering runs in `render_off_loop`'s two threads, never on the event loop, so a template
that spends its whole budget delays its own request, not the server.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from jinja2.exceptions import SecurityError

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Limits:
    """The caps of one rendering of one part (documented in docs/emails.md)."""

    output: int = 1_000_000  # characters printed
    built: int = 1_000_000  # characters or items built by filters, methods, `~` and `*`
    iterations: int = 10_000  # loop iterations, all loops together
    seconds: float = 0.1  # wall-clock time
    items: int = 10_000  # items a filter that sorts, groups or maps may go over


LIMITS = Limits()

# The clock is read every this many hooks: time.monotonic costs more than the counting.
_CLOCK_EVERY = 4
# A rendering still running after this long (a legitimate one takes well under 1 ms) is made to
# sleep `_PAUSE` every `_PAUSE` it runs: the event loop's thread waits for the GIL up to
# Python's switch interval (5 ms) at every step otherwise, which is what a busy render thread
# would cost every other request.
_UNPAUSED = 0.002
_PAUSE = 0.001


class BudgetExceeded(SecurityError):
    """A rendering went over one of its caps; `cap` names it (`output`, `built`,
    `iterations`, `seconds`, `items`)."""

    def __init__(self, cap: str, message: str) -> None:
        super().__init__(f"over the render budget: {message}")
        self.cap = cap


class Pace:
    """Long work in a render thread gives the GIL away: after `_UNPAUSED`, it sleeps `_PAUSE`
    every `_PAUSE` it runs (rendering, and parsing a template's source)."""

    __slots__ = ("pause_at",)

    def __init__(self, started: float) -> None:
        self.pause_at = started + _UNPAUSED

    def keep(self, now: float) -> None:
        if now > self.pause_at:
            time.sleep(_PAUSE)  # lets the event loop's thread take the GIL at once
            self.pause_at = time.monotonic() + _PAUSE


class Budget:
    """What one rendering has spent; raises BudgetExceeded past a cap."""

    __slots__ = ("built", "deadline", "hooks", "iterations", "limits", "output", "pace")

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        started = time.monotonic()
        self.deadline = started + limits.seconds
        self.pace = Pace(started)
        self.output = 0
        self.built = 0
        self.iterations = 0
        self.hooks = 0

    def tick(self) -> None:
        """One hook passed; every few, the deadline is checked."""
        self.hooks += 1
        if self.hooks % _CLOCK_EVERY:
            return
        now = time.monotonic()
        if now > self.deadline:
            milliseconds = round(self.limits.seconds * 1000)
            raise BudgetExceeded("seconds", f"rendering took longer than {milliseconds} ms")
        self.pace.keep(now)

    def count_built(self, size: int) -> None:
        self.built += size
        if self.built > self.limits.built:
            raise BudgetExceeded(
                "built",
                f"filters, methods, ~ and * built more than {self.limits.built:,} characters",
            )
        self.tick()

    def count_iteration(self) -> None:
        self.iterations += 1
        if self.iterations > self.limits.iterations:
            limit = self.limits.iterations
            raise BudgetExceeded("iterations", f"loops ran more than {limit:,} iterations")
        self.tick()

    def check_items(self, size: int, filter_name: str) -> None:
        if size > self.limits.items:
            raise BudgetExceeded(
                "items", f"{filter_name} may go over at most {self.limits.items:,} items"
            )
        self.tick()


_CURRENT: contextvars.ContextVar[Budget | None] = contextvars.ContextVar(
    "assina_render_budget", default=None
)


def current() -> Budget | None:
    """The budget of the rendering under way in this thread (None while compiling)."""
    return _CURRENT.get()


class spending:  # noqa: N801 - used as a function: `with spending(limits):`
    """A fresh budget for the rendering inside the block (a class rather than
    @contextmanager: it is entered three times per e-mail, thousands of times a pass)."""

    __slots__ = ("budget", "token")

    def __init__(self, limits: Limits) -> None:
        self.budget = Budget(limits)

    def __enter__(self) -> Budget:
        self.token = _CURRENT.set(self.budget)
        return self.budget

    def __exit__(self, *exc_info: object) -> None:
        _CURRENT.reset(self.token)


# Two threads: renderings of every tenant share them, so a flood of costly templates queues
# behind them (each bounded by its budget) instead of taking every core or the event loop.
_RENDERER = ThreadPoolExecutor(max_workers=2, thread_name_prefix="assina-render")


async def render_off_loop(function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """`function(*args, **kwargs)` run in a render thread, awaited on the event loop."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_RENDERER, functools.partial(function, *args, **kwargs))
