"""Build the FastAPI application around an App: create_api(app)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from evident import __version__
from evident.api.errors import install_error_handlers
from evident.api.headers import SecurityHeaders
from evident.api.routers import articles, cds, documents, stream, system, threads, users
from evident.app import App, build_app
from evident.config import load_settings

PREFIX = "/api/v1"

DESCRIPTION = """\
evident's REST API: ask clinical questions, search the library, upload documents, and run
the editorial review of articles (submit, claim, comment, edit, approve, publish).

Authenticate with `Authorization: Bearer TOKEN` (tokens come from `evident users token
NAME` or `POST /api/v1/users`). Readers see published articles only; when the server is
public (`api.public`), so do unauthenticated visitors. Every error has the same shape:
`{"ok": false, "error": "<one line>", "errors": [...], "status": <http status>}`.
"""


def create_api(app: App) -> FastAPI:
    """Return the FastAPI application serving this App.

    At start-up, upload jobs that a stopped server left queued or running are marked
    failed with the reason, so they can be retried instead of showing "running" forever.
    """

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        app.recover_jobs()
        yield

    api = _make_api(lifespan)
    # Requests never wait for indexing: a stale index is brought up to date in a thread.
    app.background_sync = True
    api.state.evident = app
    return api


def _make_api(lifespan: Any = None) -> FastAPI:
    api = FastAPI(
        title="evident",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    install_error_handlers(api)
    api.add_middleware(SecurityHeaders)
    for router in (
        system.router,
        stream.router,
        articles.router,
        articles.review,
        documents.router,
        users.router,
        threads.router,
    ):
        api.include_router(router, prefix=PREFIX)
    # CDS Hooks services live at the path the specification names, outside /api/v1.
    api.include_router(cds.router)
    from evident.web import install_web  # the web pages share this app (no import cycle)

    install_web(api)
    return api


def app_from_env() -> FastAPI:
    """uvicorn factory: build the App from settings (EVIDENT_* environment, config file)."""
    return create_api(build_app(load_settings()))


def openapi_document() -> dict[str, Any]:
    """The OpenAPI schema, as served at /openapi.json (the schema needs no library)."""
    schema: dict[str, Any] = _make_api().openapi()
    return schema


def openapi_text() -> str:
    """The OpenAPI schema as committed to docs/openapi.json (`evident openapi --out …`)."""
    return json.dumps(openapi_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
