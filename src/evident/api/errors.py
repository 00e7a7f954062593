"""One JSON error shape for every failure: {"ok": false, "error", "errors", "status"}."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from evident.errors import (
    EvidentError,
    PayloadTooLarge,
    RateLimited,
    Unauthenticated,
    error_body,
    status_for,
)

__all__ = [
    "PayloadTooLarge",
    "RateLimited",
    "Unauthenticated",
    "error_response",
    "install_error_handlers",
    "status_for",
    "validation_response",
]

log = logging.getLogger(__name__)


def error_response(
    status: int,
    message: str,
    errors: list[Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(status, message, errors), status_code=status, headers=headers)


def _one_line(text: str) -> str:
    return " ".join(text.split())


async def _evident_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, EvidentError)
    status = status_for(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(exc.retry_after_s)}
    return error_response(status, _one_line(str(exc)), headers=headers)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404 and exc.detail == "Not Found":
        message = f"no such endpoint: {request.method} {request.url.path}; see /docs"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}; see /docs"
    else:
        message = _one_line(str(exc.detail))
    return error_response(exc.status_code, message, headers=getattr(exc, "headers", None))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return validation_response(422, exc.errors(), "invalid request", strip=1)


def validation_response(
    status: int, errors: Sequence[Any], lead: str, strip: int = 0, hint: str = ""
) -> JSONResponse:
    """A validation failure in the one error shape: each field's place and problem, never
    the value sent. strip: leading parts of each place to leave out of the message
    ("body" for a request body)."""
    details = [
        {
            "loc": [str(part) for part in error.get("loc", ())],
            "message": str(error.get("msg", "")),
            "type": str(error.get("type", "")),
        }
        for error in errors
    ]
    summary = "; ".join(
        f"{'.'.join(d['loc'][strip:] or d['loc']) or 'body'}: {d['message']}" for d in details[:3]
    )
    more = f" (and {len(details) - 3} more)" if len(details) > 3 else ""
    return error_response(status, f"{lead}: {summary}{more}{hint}", details)


async def _server_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(
        500, "internal server error; the server log has the details", [type(exc).__name__]
    )


def install_error_handlers(api: FastAPI) -> None:
    api.add_exception_handler(EvidentError, _evident_error)
    api.add_exception_handler(StarletteHTTPException, _http_error)
    api.add_exception_handler(RequestValidationError, _validation_error)
    api.add_exception_handler(Exception, _server_error)
