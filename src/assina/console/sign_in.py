"""Signing in and out of the console, and the language switch.

The sign-in form has its own CSRF token (a cookie and a hidden field that must agree), so that
no other site can sign a person's browser into an account of its choosing.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from assina.console.auth import SESSION_COOKIE, ConsoleCallerDep, SignInRequired
from assina.console.forms import read_form
from assina.console.i18n import LANGUAGE_COOKIE, locale_of, translate
from assina.console.web import PageFrame, console_path, render_page
from assina.notifications.models import Locale
from assina.tenants.deps import RuntimeDep
from assina.users.sessions import MAX_SESSION_AGE, SignInRefused, sign_in, sign_out

router = APIRouter(prefix="/console")

LOGIN_CSRF_COOKIE = "assina_login_csrf"
_YEAR_SECONDS = 365 * 24 * 3600


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _login_page(
    request: Request,
    *,
    next_path: str,
    email: str = "",
    message: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    token = secrets.token_urlsafe(32)
    locale = locale_of(request.cookies.get(LANGUAGE_COOKIE))
    frame = PageFrame(locale=locale, path="/console/login")
    response = render_page(
        "login.html",
        frame,
        status_code=status_code,
        headers=headers,
        login_csrf=token,
        next_path=next_path,
        email=email,
        message=message,
        notice=notice,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/console/login",
    )
    return response


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    notice = request.query_params.get("notice")
    return _login_page(
        request,
        next_path=console_path(next),
        notice=notice if notice in {"signed_out", "expired"} else None,
    )


@router.post("/login")
async def login(request: Request, runtime: RuntimeDep) -> Response:
    form = await read_form(request)
    next_path = console_path(form.get("next"))
    email = form.get("email").strip()
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    sent = form.get("login_csrf")
    if not expected or not hmac.compare_digest(expected.encode(), sent.encode()):
        message = translate("error.csrf", locale_of(request.cookies.get(LANGUAGE_COOKIE)))
        return _login_page(
            request, next_path=next_path, email=email, message=message, status_code=403
        )
    outcome = await sign_in(runtime.database, runtime.clock, email, form.get("password"))
    if isinstance(outcome, SignInRefused):
        return _refused(request, outcome, next_path, email)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        outcome.token,
        max_age=int(MAX_SESSION_AGE.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/console",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console/login")
    return response


def _refused(request: Request, refusal: SignInRefused, next_path: str, email: str) -> Response:
    """Wrong e-mail or password (401), or too many attempts (429, with Retry-After)."""
    problem = refusal.problem
    locale = locale_of(request.cookies.get(LANGUAGE_COOKIE))
    retry_after = problem.headers.get("Retry-After")
    if problem.status != 429 or retry_after is None:
        message = translate("login.invalid", locale)
        return _login_page(
            request, next_path=next_path, email=email, message=message, status_code=401
        )
    minutes = max(1, -(-int(retry_after) // 60))
    message = translate("login.throttled", locale, minutes=minutes)
    return _login_page(
        request,
        next_path=next_path,
        email=email,
        message=message,
        status_code=429,
        headers={"Retry-After": retry_after},
    )


@router.post("/logout")
async def logout(request: Request, caller: ConsoleCallerDep) -> Response:
    async with caller.runtime.database.write() as session:
        await sign_out(session, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/console/login?notice=signed_out", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/console")
    if request.headers.get("HX-Request"):
        response.headers["HX-Redirect"] = "/console/login?notice=signed_out"
    return response


@router.get("/language")
async def switch_language(to: str = "", next: str | None = None) -> Response:
    """English or Portuguese from now on (a cookie), back on the page it was chosen on."""
    response = RedirectResponse(console_path(next), status_code=303)
    language = Locale.EN.value if to == Locale.EN.value else Locale.PT_BR.value
    response.set_cookie(LANGUAGE_COOKIE, language, max_age=_YEAR_SECONDS, samesite="lax")
    return response


def sign_in_redirect(request: Request, error: SignInRequired) -> Response:
    """Signed out: to the sign-in page, and back here after it."""
    location = error.location()
    if request.headers.get("HX-Request"):
        return Response(status_code=200, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)
