"""Backends by name, from entry points (built-in ones register the same way as plugins)."""

from __future__ import annotations

import logging
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from evident.errors import BackendUnavailable

log = logging.getLogger(__name__)

READERS = "evident.readers"
EMBEDDERS = "evident.embedders"
GENERATORS = "evident.generators"


@cache
def backends(group: str) -> dict[str, Any]:
    """Return {name: class} for every backend registered in an entry-point group."""
    found = {ep.name: ep for ep in entry_points(group=group)}
    if not found:
        raise BackendUnavailable(
            f"no backends registered under {group!r}; evident is not installed as a package. "
            "Run `make install` (or `pip install -e .`) from the repository."
        )
    loaded: dict[str, Any] = {}
    for name, ep in sorted(found.items()):
        try:
            loaded[name] = ep.load()
        except Exception as exc:  # a broken plugin must not disable the others
            log.warning("skipping backend %s in %s: %s", name, group, exc)
    return loaded


def backend(group: str, name: str) -> Any:
    """Return the backend class registered under name, or say which names exist."""
    table = backends(group)
    if name not in table:
        raise BackendUnavailable(
            f"no backend {name!r} in {group!r}; available: {', '.join(sorted(table))}"
        )
    return table[name]
