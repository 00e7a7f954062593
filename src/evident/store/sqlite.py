"""The SQLite library store: one file, WAL mode, one connection per thread."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from evident.errors import BackendUnavailable
from evident.store.sql import Connection, SqlStore


class SqliteStore(SqlStore):
    """The library in one SQLite file (the default; nothing else to run)."""

    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise BackendUnavailable(
                f"cannot open the library database {path}: {exc}. "
                "If the file is damaged, restore it from a backup or choose another --library."
            ) from exc

    def describe(self) -> str:
        return str(self.path)

    # -- connections -------------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run a block atomically; BEGIN IMMEDIATE so writers queue instead of failing."""
        conn = self.conn
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        conn = self.conn
        if conn.in_transaction:
            yield
            return
        conn.execute("BEGIN")
        try:
            yield
        finally:
            conn.execute("COMMIT")

    def last_change(self) -> int:
        # The AUTOINCREMENT counter outlives the entries forget_changes drops.
        row = self.conn.execute("SELECT seq FROM sqlite_sequence WHERE name='index_log'").fetchone()
        return int(row[0]) if row else 0

    def _schema_version(self, tx: Connection) -> int:
        return int(tx.execute("PRAGMA user_version").fetchone()[0])

    def _set_schema_version(self, tx: Connection, number: int) -> None:
        tx.execute(f"PRAGMA user_version={int(number)}")
