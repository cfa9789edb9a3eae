"""How a console page is drawn: the templates, the filters that write money and dates as a
person reads them, and the headers every page carries.

No inline script or style anywhere (the Content-Security-Policy forbids both): htmx and the
stylesheet are vendored files under /console/static, htmx is configured by a meta tag.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

from assina.console.i18n import translate
from assina.core.documents import format_document
from assina.notifications.formatting import format_date, format_money
from assina.notifications.models import Locale
from assina.tenants.models import DEFAULT_TIME_ZONE

STATIC_PREFIX = "/console/static"

_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'{styles}; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# The e-mail template editor: its preview (a sandboxed iframe's srcdoc, which inherits the
# page's policy) shows the e-mail's own inline styles. Scripts stay forbidden.
EMAIL_PREVIEW_POLICY = _POLICY.format(styles=" 'unsafe-inline'")

# Every page: scripts and styles from our own files only; nothing may frame it.
SECURITY_HEADERS = {
    "Content-Security-Policy": _POLICY.format(styles=""),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Pages hold personal and financial data: never kept by a shared cache or the back button.
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class PageFrame:
    """What the frame around every page shows of who is looking: a signed-out page (sign-in,
    an error before sign-in) has no user."""

    locale: Locale
    time_zone: str = DEFAULT_TIME_ZONE
    user_email: str | None = None
    user_role: str | None = None
    tenant_name: str | None = None
    csrf_token: str | None = None
    sandbox_now: datetime | None = None  # a sandbox tenant's test clock
    can_change: bool = False
    can_administer: bool = False
    path: str = "/console"


def console_path(path: str | None) -> str:
    """A place to send a person back to: a console page, never another site (`//evil`)."""
    if path and (path == "/console" or path.startswith(("/console/", "/console?"))):
        return path
    return "/console"


@pass_context
def _t(context: Context, key: str, **values: object) -> str:
    frame: PageFrame = context["frame"]
    return translate(key, frame.locale, **values)


@pass_context
def _money(context: Context, amount: int | None, currency: str = "BRL") -> str:
    frame: PageFrame = context["frame"]
    return "" if amount is None else format_money(amount, currency, frame.locale)


@pass_context
def _day(context: Context, day: date | None) -> str:
    frame: PageFrame = context["frame"]
    return "" if day is None else format_date(day, frame.locale)


@pass_context
def _percent(context: Context, basis_points: int) -> str:
    """Basis points as a percentage with one decimal: `12,5%` (pt-BR) or `12.5%`."""
    frame: PageFrame = context["frame"]
    text = f"{basis_points / 100:.1f}"
    return f"{text.replace('.', ',') if frame.locale == Locale.PT_BR else text}%"


@pass_context
def _moment(context: Context, instant: datetime | None) -> str:
    """An instant in the tenant's time zone: `15/01/2026 14:05` (pt-BR) or `2026-01-15 14:05`."""
    if instant is None:
        return ""
    frame: PageFrame = context["frame"]
    local = instant.astimezone(ZoneInfo(frame.time_zone))
    if frame.locale == Locale.EN:
        return local.strftime("%Y-%m-%d %H:%M")
    return local.strftime("%d/%m/%Y %H:%M")


_environment = Environment(
    loader=PackageLoader("assina.console", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_environment.globals["t"] = _t
_environment.globals["static"] = STATIC_PREFIX
_environment.filters["money"] = _money
_environment.filters["day"] = _day
_environment.filters["percent"] = _percent
_environment.filters["moment"] = _moment
_environment.filters["document"] = format_document


def render_page(
    template: str,
    frame: PageFrame,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    body = _environment.get_template(template).render(frame=frame, **context)
    headers = {**SECURITY_HEADERS, **(headers or {})}
    return HTMLResponse(body, status_code=status_code, headers=headers)


def template_names() -> list[str]:
    """Every template of the console (the tests render each one's words)."""
    return sorted(_environment.list_templates(extensions=["html"]))


def template_source(name: str) -> str:
    loader = _environment.loader
    assert loader is not None  # noqa: S101 (set above)
    source, _, _ = loader.get_source(_environment, name)
    return source
