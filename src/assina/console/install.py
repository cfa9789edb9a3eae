"""The console in an app: its routers, its static files (vendored htmx, the stylesheet), the
sign-in redirect, and problems under /console answered as pages."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.staticfiles import StaticFiles

from assina.console import pages
from assina.console.auth import SignInRequired
from assina.console.i18n import LANGUAGE_COOKIE, locale_of, translate
from assina.console.sign_in import router as sign_in_router
from assina.console.sign_in import sign_in_redirect
from assina.console.web import STATIC_PREFIX, PageFrame, render_page
from assina.core.errors import Problem
from assina.core.http import install_problem_page

CONSOLE_PREFIX = "/console"

# Problems whose words the console has in both languages; any other shows its own detail.
_KNOWN = {
    "forbidden": "error.forbidden",
    "not-found": "error.not_found",
    "csrf-token-invalid": "error.csrf",
}


def problem_page(request: Request, problem: Problem) -> Response:
    """A refusal the page did not handle itself, as a page of its own (or, to htmx, a line it
    shows in the page's message area)."""
    locale = locale_of(request.cookies.get(LANGUAGE_COOKIE))
    key = _KNOWN.get(problem.slug)
    message = translate(key, locale) if key else problem.detail
    if request.headers.get("HX-Request"):
        return render_page(
            "parts/message.html",
            PageFrame(locale=locale),
            status_code=problem.status,
            headers=problem.headers,
            message=message,
        )
    frame = PageFrame(locale=locale, path=request.url.path)
    return render_page(
        "error.html", frame, status_code=problem.status, headers=problem.headers, message=message
    )


async def _on_sign_in_required(request: Request, error: Exception) -> Response:
    if not isinstance(error, SignInRequired):
        raise error
    return sign_in_redirect(request, error)


def install_console(app: FastAPI) -> None:
    app.include_router(sign_in_router, include_in_schema=False)
    for router in pages.ROUTERS:
        app.include_router(router, include_in_schema=False)
    app.mount(STATIC_PREFIX, StaticFiles(packages=[("assina.console", "static")]), "console-static")
    app.add_exception_handler(SignInRequired, _on_sign_in_required)
    install_problem_page(app, CONSOLE_PREFIX, problem_page)
