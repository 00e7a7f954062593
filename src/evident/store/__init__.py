"""Library storage backends."""

from evident.store.sqlite import SqliteStore

__all__ = ["SqliteStore"]
