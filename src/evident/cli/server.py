"""Serving: the HTTP API and web app, and the OpenAPI document."""

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
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.")] = 1,
    public: Annotated[
        bool | None,
        typer.Option(
            "--public/--private", help="Let unauthenticated visitors read published articles."
        ),
    ] = None,
) -> None:
    """Serve the web app (/) and the REST API (/api/v1; OpenAPI at /openapi.json) with uvicorn."""
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
