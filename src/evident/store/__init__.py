"""Library storage backends: SQLite (the default) and PostgreSQL (the postgres extra)."""

from evident.store.sql import SqlStore
from evident.store.sqlite import SqliteStore

__all__ = ["SqlStore", "SqliteStore"]
