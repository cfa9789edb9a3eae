"""`/docs`, Swagger UI served by assina itself: FastAPI's default page loads it from a CDN,
which a self-hosted install behind a firewall (or offline) may not reach.

The assets (Swagger UI 5, which reads OpenAPI 3.1 and its `webhooks`) come from the
`fastapi-offline` package; only its files are used, not its app factory.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"
ASSETS_DIRECTORY = Path(fastapi_offline.__file__).parent / "static"
SWAGGER_JS = "swagger-ui-bundle.js"
SWAGGER_CSS = "swagger-ui.css"
FAVICON = "favicon.png"


def install_docs(app: FastAPI) -> None:
    """Serve the assets under /docs/assets and the page at /docs (the app is built with
    `docs_url=None`, so FastAPI adds no CDN page of its own)."""
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIRECTORY), name="docs-assets")

    # A module-level endpoint, never a closure over `app`: FastAPI caches what it learns of
    # each endpoint by the function (up to 4,096 of them), so a closure made per app would
    # keep every app built in the process alive (the test suite builds thousands).
    app.add_api_route(DOCS_PATH, swagger_ui, methods=["GET"], include_in_schema=False)


async def swagger_ui(request: Request) -> HTMLResponse:
    app: FastAPI = request.app
    root = str(request.scope.get("root_path", "")).rstrip("/")
    assets = f"{root}{ASSETS_PATH}"
    return get_swagger_ui_html(
        openapi_url=f"{root}{app.openapi_url}",
        title=f"{app.title} API",
        swagger_js_url=f"{assets}/{SWAGGER_JS}",
        swagger_css_url=f"{assets}/{SWAGGER_CSS}",
        swagger_favicon_url=f"{assets}/{FAVICON}",
        # No badge from the public validator: the page loads nothing from elsewhere.
        swagger_ui_parameters={"validatorUrl": None},
    )
