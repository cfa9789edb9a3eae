"""The sandbox banner's "advance" control: the same advance as POST /v1/test-clock/advance."""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from assina.console.auth import ChangerDep
from assina.console.forms import input_of, read_form
from assina.console.i18n import translate
from assina.console.web import console_path, render_page
from assina.notifications.formatting import format_date
from assina.payments.card_schedule import CardRun
from assina.sandbox import service
from assina.sandbox.schemas import ClockAdvanceIn

router = APIRouter(prefix="/console")


@router.post("/test-clock/advance")
async def advance_test_clock(request: Request, caller: ChangerDep) -> Response:
    form = await read_form(request)
    days = form.get("days").strip()
    advance = input_of(ClockAdvanceIn, {"days": int(days) if days.isdigit() else days})
    runtime = caller.runtime
    cards = CardRun(
        request.app.state.provider_connections, runtime.settings.public_url or str(request.base_url)
    )
    advanced = await service.advance_test_clock(
        runtime.database, runtime.clock, caller.tenant_id, advance, cards
    )
    if not request.headers.get("HX-Request"):
        return RedirectResponse(console_path(form.get("back")), status_code=303)
    frame = caller.frame
    moved = replace(frame, sandbox_now=advanced.clock.now)
    summary = translate(
        "sandbox.advanced",
        frame.locale,
        today=format_date(advanced.clock.today, frame.locale),
        days=advanced.days,
        charges=advanced.charges_issued,
    )
    return render_page("parts/sandbox.html", moved, advanced=summary)
