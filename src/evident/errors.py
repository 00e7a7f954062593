"""The exception tree. Every error evident raises derives from EvidentError."""

from __future__ import annotations


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
