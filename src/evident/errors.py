"""The exception tree. Every error evident raises derives from EvidentError."""

from __future__ import annotations

from typing import Any


class EvidentError(Exception):
    """Base class. Messages say what went wrong, quote the value and say what to do next."""


class InvalidInput(EvidentError):
    """The caller supplied something unusable (an empty question, a bad flag value)."""


class UnsupportedFormat(EvidentError):
    """No reader handles this file type."""


class ParseFailure(EvidentError):
    """A reader recognised the format but could not read the content."""


class NotFound(EvidentError):
    """A document, chunk, article or user does not exist."""


class Conflict(EvidentError):
    """The action clashes with the current state (duplicate, illegal transition)."""


class PermissionDenied(EvidentError):
    """The caller's role does not allow the action."""


class BackendUnavailable(EvidentError):
    """A configured backend (database, model, index) cannot be used."""


class IndexMismatch(BackendUnavailable):
    """A saved index was built with other parameters than the current settings."""


class GeneratorFailed(BackendUnavailable):
    """The configured language model could not write a usable reply (unreachable, timed
    out, rate limited past the budget, refused the request, or replied malformed JSON)."""


class Unauthenticated(EvidentError):
    """No valid token where one is needed (HTTP 401)."""


class PayloadTooLarge(EvidentError):
    """An upload is over api.max_upload_mb (HTTP 413)."""


class RateLimited(EvidentError):
    """Too many attempts from one client in a short time (HTTP 429)."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


# The HTTP status of each kind of error, most specific first (IndexMismatch is a
# BackendUnavailable, for instance). Every front end reports errors with these numbers.
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
    """Return the HTTP status that stands for this error."""
    for kind, status in STATUS:
        if isinstance(exc, kind):
            return status
    return 400


def error_body(status: int, message: str, errors: list[Any] | None = None) -> dict[str, Any]:
    """The one error shape every front end returns: {"ok": false, "error", "errors", "status"}."""
    return {"ok": False, "error": message, "errors": errors or [], "status": status}
