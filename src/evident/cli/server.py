"""Serving: the HTTP API and web app, the MCP tool server, and the OpenAPI document."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from evident.cli.common import (
    cli,
    err,
    state,
)
from evident.config import load_settings


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default: api.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default: api.port).")] = None,
    workers: Annotated[
        int,
        typer.Option(
            help="uvicorn worker processes; each opens the library (SQLite in WAL mode, or "
            "PostgreSQL with store.url) and reads the same search index."
        ),
    ] = 1,
    public: Annotated[
        bool | None,
        typer.Option(
            "--public/--private", help="Let unauthenticated visitors read published articles."
        ),
    ] = None,
) -> None:
    """Serve the web app (/), the REST API (/api/v1; OpenAPI at /openapi.json) and CDS Hooks
    (/cds-services) with uvicorn."""
    import uvicorn

    settings = load_settings(library=state.library)
    # Workers rebuild the App from the environment, so pass the resolved settings on.
    os.environ["EVIDENT_LIBRARY"] = str(settings.library.resolve())
    if public is not None:
        os.environ["EVIDENT_API__PUBLIC"] = "true" if public else "false"
    uvicorn.run(
        "evident.api.main:app_from_env",
        factory=True,
        host=host or settings.api.host,
        port=port or settings.api.port,
        workers=workers,
        log_level="info",
    )


@cli.command()
def mcp(
    token: Annotated[
        str | None,
        typer.Option(
            envvar="EVIDENT_MCP_TOKEN",
            help="API token of the user the tools act as (default: $EVIDENT_MCP_TOKEN; "
            "without one, an anonymous reader who sees published articles only).",
        ),
    ] = None,
    http: Annotated[
        bool, typer.Option("--http", help="Serve streamable HTTP instead of stdio.")
    ] = False,
    host: Annotated[str | None, typer.Option(help="Address for --http (default: mcp.host).")] = (
        None
    ),
    port: Annotated[int | None, typer.Option(help="Port for --http (default: mcp.port).")] = None,
) -> None:
    """Run the MCP tool server (search_library, ask, get_article, get_document) over stdio,
    or streamable HTTP with --http."""
    from evident.errors import Unauthenticated
    from evident.mcp.server import build_server  # the MCP SDK loads only for this command
    from evident.review.records import ANONYMOUS

    app = state.app()
    viewer = ANONYMOUS
    if token:
        found = app.authenticate(token)
        if found is None:
            raise Unauthenticated(
                "the MCP token is not a valid API token; ask an admin for one "
                "(`evident users token NAME`) or leave it out to read published articles only"
            )
        viewer = found
    server = build_server(app, viewer)
    if not http:
        server.run("stdio")
        return
    settings = app.settings.mcp
    bind, listen = host or settings.host, port or settings.port
    err.print(
        f"evident MCP server for {viewer.name} ({viewer.role.value}) on "
        f"http://{bind}:{listen}{settings.path}"
    )
    server.run("streamable-http", host=bind, port=listen, streamable_http_path=settings.path)


@cli.command()
def openapi(
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write here (e.g. docs/openapi.json), not stdout.")
    ] = None,
) -> None:
    """Print the REST API's OpenAPI schema (regenerates docs/openapi.json)."""
    from evident.api.main import openapi_text

    text = openapi_text()
    if out_file is None:
        sys.stdout.write(text)
    else:
        out_file.write_text(text, encoding="utf-8")
        err.print(f"wrote {out_file}")
