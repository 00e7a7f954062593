"""The PostgreSQL library store (store.url = "postgresql://…"): the same tables and
queries as SQLite, over a psycopg connection pool shared by a process's threads.

Reads borrow a pooled connection for one statement. Write transactions take one
transaction-level advisory lock first, so writers queue one behind another exactly as
SQLite's BEGIN IMMEDIATE makes them: a read-then-write inside a transaction (the audit
chain's head, an article's revision, the library digest) can never race a writer in
another worker or on another machine. Review writes are small; reads run in parallel.
"""

from __future__ import annotations

import glob
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from evident.errors import BackendUnavailable
from evident.store.sql import Connection, SqlStore

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

INSTALL_HINT = (
    "the PostgreSQL store needs the postgres extra; install it with "
    "`pip install 'evident[postgres]'` (or `.venv/bin/pip install psycopg[binary]==3.3.9 "
    "psycopg-pool==3.3.3` in a source checkout)"
)
# The key of the advisory lock every write transaction holds ("evident" in ASCII).
WRITE_LOCK = 0x65766964656E74


def redact(url: str) -> str:
    """The URL with its password replaced by ***, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


class PgRow:
    """A result row read by column name or position, like sqlite3.Row."""

    __slots__ = ("_index", "_values")

    def __init__(self, values: Sequence[Any], index: dict[str, int]) -> None:
        self._values = values
        self._index = index

    def __getitem__(self, key: str | int) -> Any:
        return self._values[self._index[key] if isinstance(key, str) else key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def keys(self) -> list[str]:
        return list(self._index)


def _row_factory(cursor: Any) -> Any:
    names = [c.name for c in cursor.description or ()]
    index = {name: i for i, name in enumerate(names)}

    def make(values: Sequence[Any]) -> PgRow:
        return PgRow(values, index)

    return make


_PLACEHOLDER = re.compile(r"\?")


def _sql(query: str, parameters: Sequence[Any] | None) -> str:
    """The `?`-placeholder query in psycopg's spelling (%s, with literal % doubled)."""
    if not parameters:
        return query
    return _PLACEHOLDER.sub("%s", query.replace("%", "%%"))


class _Result:
    """Rows fetched in full (the connection they came from is back in the pool)."""

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def fetchone(self) -> Any:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[Any]:
        return self._rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)


def _run(raw: psycopg.Connection[Any], query: str, parameters: Sequence[Any] | None) -> _Result:
    cursor = raw.execute(_sql(query, parameters), list(parameters) if parameters else None)
    rows = cursor.fetchall() if cursor.description is not None else []
    return _Result(rows, cursor.rowcount)


class _PgConnection:
    """One pooled connection inside a transaction, speaking `?` placeholders."""

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw

    def execute(self, query: str, parameters: Sequence[Any] = (), /) -> _Result:
        return _run(self.raw, query, parameters)

    def executemany(self, query: str, parameters: Iterable[Sequence[Any]], /) -> _Result:
        batch = [list(p) for p in parameters]
        if not batch:
            return _Result([], 0)
        with self.raw.cursor() as cursor:
            cursor.executemany(_sql(query, batch[0]), batch)
            return _Result([], cursor.rowcount)


class _PooledReads:
    """Outside a transaction: each statement borrows a connection and gives it back."""

    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self.pool = pool

    def execute(self, query: str, parameters: Sequence[Any] = (), /) -> _Result:
        with self.pool.connection() as raw:
            return _run(raw, query, parameters)

    def executemany(self, query: str, parameters: Iterable[Sequence[Any]], /) -> _Result:
        with self.pool.connection() as raw:
            return _PgConnection(raw).executemany(query, parameters)


class PostgresStore(SqlStore):
    """The library in a PostgreSQL database, for many workers and many machines."""

    dialect = "postgresql"

    def __init__(self, url: str, pool_size: int = 10) -> None:
        try:
            import psycopg
            from psycopg_pool import ConnectionPool
        except ImportError as exc:
            raise BackendUnavailable(INSTALL_HINT) from exc
        self.url = url
        self._local = threading.local()
        self._errors: tuple[type[BaseException], ...] = (psycopg.Error,)
        try:
            self.pool: ConnectionPool[Any] = ConnectionPool(
                url,
                min_size=1,
                max_size=max(1, pool_size),
                kwargs={"autocommit": True, "row_factory": _row_factory},
                open=False,
                name="evident",
            )
            self.pool.open(wait=True, timeout=15.0)
        except Exception as exc:  # the pool reports any connection failure as a timeout
            raise BackendUnavailable(
                f"cannot connect to the PostgreSQL library at {redact(url)}: {exc}. Check that "
                "the server runs, the database exists and store.url names it "
                "(postgresql://USER:PASSWORD@HOST:PORT/DATABASE)"
            ) from exc
        try:
            self._migrate()
        except psycopg.Error as exc:
            self.pool.close()
            raise BackendUnavailable(
                f"cannot set up the PostgreSQL library at {redact(url)}: {exc}"
            ) from exc

    def describe(self) -> str:
        return redact(self.url)

    @property
    def conn(self) -> Connection:
        active: _PgConnection | None = getattr(self._local, "tx", None)
        return active if active is not None else _PooledReads(self.pool)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        active: _PgConnection | None = getattr(self._local, "tx", None)
        if active is not None:
            yield active
            return
        with self.pool.connection() as raw, raw.transaction():
            raw.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            self._local.tx = _PgConnection(raw)
            try:
                yield self._local.tx
            finally:
                self._local.tx = None

    def close(self) -> None:
        self.pool.close()

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        active: _PgConnection | None = getattr(self._local, "tx", None)
        if active is not None:
            yield
            return
        with self.pool.connection() as raw, raw.transaction():
            raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            self._local.tx = _PgConnection(raw)
            try:
                yield
            finally:
                self._local.tx = None

    def last_change(self) -> int:
        # Writers hold the write lock while they log, so log entries commit in seq order
        # and the highest one seen is the latest change; once forget_changes has dropped
        # them all, the mark it left in meta says where the log stood.
        row = self.conn.execute(
            "SELECT COALESCE((SELECT MAX(seq) FROM index_log), "
            "(SELECT CAST(value AS BIGINT) FROM meta WHERE key='index_log_through'), 0)"
        ).fetchone()
        return int(row[0])

    def forget_changes(self, through: int) -> None:
        with self.transaction() as tx:
            tx.execute(
                "INSERT INTO meta(key, value) VALUES('index_log_through', ?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value "
                "WHERE CAST(meta.value AS BIGINT) < CAST(excluded.value AS BIGINT)",
                (str(through),),
            )
            tx.execute("DELETE FROM index_log WHERE seq <= ?", (through,))

    def _schema_version(self, tx: Connection) -> int:
        tx.execute("CREATE TABLE IF NOT EXISTS evident_schema (version INTEGER NOT NULL)")
        row = tx.execute("SELECT version FROM evident_schema").fetchone()
        if row is None:
            tx.execute("INSERT INTO evident_schema(version) VALUES (0)")
            return 0
        return int(row[0])

    def _set_schema_version(self, tx: Connection, number: int) -> None:
        tx.execute("UPDATE evident_schema SET version=?", (number,))

    # -- backups ---------------------------------------------------------------------
    def dump(
        self, target: Path, summarize: Callable[[Connection], dict[str, Any]]
    ) -> dict[str, Any]:
        """Write a pg_dump archive of the live database to target; safe while it serves.

        The summary (counts, the audit chain's head) is computed in the very snapshot
        pg_dump copies (an exported snapshot), so backup.json describes the archive exactly.
        """
        pg_dump = _client_tool("pg_dump")
        with self.pool.connection() as raw, raw.transaction():
            raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            snapshot = raw.execute("SELECT pg_export_snapshot()").fetchone()[0]
            summary = summarize(_PgConnection(raw))
            done = subprocess.run(
                [
                    pg_dump,
                    "--format=custom",
                    "--no-owner",
                    f"--snapshot={snapshot}",
                    f"--file={target}",
                    f"--dbname={self.url}",
                ],
                capture_output=True,
                text=True,
                check=False,
            )
        if done.returncode != 0:
            raise BackendUnavailable(
                f"pg_dump could not back up {self.describe()}: {done.stderr.strip()}"
            )
        return summary

    def restore(self, archive: Path) -> None:
        """Replace this database's tables with those in a pg_dump archive, atomically."""
        pg_restore = _client_tool("pg_restore")
        done = subprocess.run(
            [
                pg_restore,
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                f"--dbname={self.url}",
                str(archive),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise BackendUnavailable(
                f"pg_restore could not restore {archive} into {self.describe()}: "
                f"{done.stderr.strip()}"
            )
        self.pool.drain()  # connections that planned queries on the replaced tables
        self._migrate()  # an archive from an older evident


def _client_tool(name: str) -> str:
    """pg_dump or pg_restore: on PATH, else the newest in /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found is None:
        candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
        found = candidates[-1] if candidates else None
    if found is None:
        raise BackendUnavailable(
            f"{name} is not installed; install the PostgreSQL client tools "
            "(apt-get install postgresql-client) to back up or restore a PostgreSQL library"
        )
    return found
