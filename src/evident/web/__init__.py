"""The web app: server-rendered pages mounted into the same FastAPI app as the REST API."""

from __future__ import annotations

from importlib import resources
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from evident.api.errors import _evident_error, _http_error, _validation_error, status_for
from evident.errors import EvidentError
from evident.review.records import ANONYMOUS


def _is_api(request: Request) -> bool:
    path = request.url.path
    return path.startswith(("/api/", "/cds-services", "/openapi", "/docs", "/redoc"))


async def _error_page(request: Request, exc: Exception) -> Response:
    """Errors on the web pages are pages; errors on the API keep the one JSON shape."""
    from evident.web import session
    from evident.web.routes import page

    # No route matched: a page for browsers, the API's JSON for every other client.
    unrouted = isinstance(exc, StarletteHTTPException) and "text/html" not in (
        request.headers.get("accept", "")
    )
    if _is_api(request) or unrouted:
        if isinstance(exc, EvidentError):
            return await _evident_error(request, exc)
        if isinstance(exc, RequestValidationError):
            return await _validation_error(request, exc)
        return await _http_error(request, exc)
    if isinstance(exc, session.SignInRequired):
        return Response(
            status_code=303,
            headers={"Location": f"/signin?next={quote(request.url.path)}"},
        )
    app = request.app.state.evident
    if isinstance(exc, EvidentError):
        status, message = status_for(exc), " ".join(str(exc).split())
        if isinstance(exc, session.ForbiddenOrigin):
            status = 403
    elif isinstance(exc, RequestValidationError):
        status = 422
        fields = ", ".join(str(e.get("loc", ("", "?"))[-1]) for e in exc.errors()[:3])
        message = f"the form was not filled in as expected ({fields}); go back and try again"
    else:
        assert isinstance(exc, StarletteHTTPException)
        status = exc.status_code
        message = (
            f"there is no page at {request.url.path}"
            if status == 404
            else " ".join(str(exc.detail).split())
        )
    try:
        user = session.current_user(request, app)
    except Exception:  # the error page must render even when the store is the problem
        user = ANONYMOUS
    return page(request, app, "error.html", user, status_code=status, message=message)


def install_web(api: FastAPI) -> None:
    """Add the HTML pages, the static files and HTML error pages to the API app."""
    from evident.web import session
    from evident.web.routes import router

    static = str(resources.files("evident.web").joinpath("static"))
    api.mount("/static", StaticFiles(directory=static), name="static")
    api.state.signin_limiter = session.SignInLimiter()
    api.include_router(router)
    api.add_exception_handler(EvidentError, _error_page)
    api.add_exception_handler(StarletteHTTPException, _error_page)
    api.add_exception_handler(RequestValidationError, _error_page)
