"""One JSON error shape for every failure: {"ok": false, "error", "errors", "status"}."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from evident.errors import (
    BackendUnavailable,
    Conflict,
    EvidentError,
    InvalidInput,
    NotFound,
    ParseFailure,
    PermissionDenied,
    UnsupportedFormat,
)

log = logging.getLogger(__name__)


class Unauthenticated(EvidentError):
    """No valid bearer token, on a server that is not public (HTTP 401)."""


class PayloadTooLarge(EvidentError):
    """An upload is over api.max_upload_mb (HTTP 413)."""


class RateLimited(EvidentError):
    """Too many attempts from one client in a short time (HTTP 429)."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


# Most specific first: IndexMismatch is a BackendUnavailable, for instance.
STATUS: list[tuple[type[EvidentError], int]] = [
    (Unauthenticated, 401),
    (PayloadTooLarge, 413),
    (RateLimited, 429),
    (UnsupportedFormat, 415),
    (ParseFailure, 422),
    (InvalidInput, 400),
    (NotFound, 404),
    (Conflict, 409),
    (PermissionDenied, 403),
    (BackendUnavailable, 503),
]


def status_for(exc: EvidentError) -> int:
    for kind, status in STATUS:
        if isinstance(exc, kind):
            return status
    return 400


def error_response(
    status: int,
    message: str,
    errors: list[Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"ok": False, "error": message, "errors": errors or [], "status": status}
    return JSONResponse(body, status_code=status, headers=headers)


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
    details = [
        {
            "loc": [str(part) for part in error.get("loc", ())],
            "message": str(error.get("msg", "")),
            "type": str(error.get("type", "")),
        }
        for error in exc.errors()
    ]
    summary = "; ".join(
        f"{'.'.join(d['loc'][1:] or d['loc'])}: {d['message']}" for d in details[:3]
    )
    more = f" (and {len(details) - 3} more)" if len(details) > 3 else ""
    return error_response(422, f"invalid request: {summary}{more}", details)


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
