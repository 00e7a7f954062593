"""Move a library between backends (SQLite -> PostgreSQL, or back) with nothing lost.

Every table is copied row for row in one transaction on the target, parents first and in
insertion order (so passages keep the order the search index was built in). Review
events keep their ids, so the audit chain copied with them verifies unchanged. The copy
is refused into a library that holds anything, and checked after: the same row count in
every table, the same library version and the same audit chain head, or it fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from evident.errors import BackendUnavailable, Conflict
from evident.store.audit import verify_chain
from evident.store.migrations import TABLES
from evident.store.sql import Connection, SqlStore

BATCH = 1000
# Tables whose insertion order matters and is kept in a rowid column on both backends.
_ORDERED = {"documents", "chunks"}


@dataclass(frozen=True)
class CopyReport:
    """What a copy moved: rows per table, and the audit chain head both ends share."""

    counts: dict[str, int]
    library_version: str
    audit_head: str
    audit_events: int


def _columns(store: SqlStore, table: str) -> list[str]:
    """The table's columns, without PostgreSQL's rowid (it is assigned in insert order)."""
    if store.dialect == "sqlite":
        rows = store.conn.execute(f"PRAGMA table_info({table})").fetchall()
        names = [str(r["name"]) for r in rows]
    else:
        rows = store.conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = "
            "current_schema() AND table_name = ? ORDER BY ordinal_position",
            (table,),
        ).fetchall()
        names = [str(r[0]) for r in rows]
    return [n for n in names if n != "rowid"]


def _rows(store: SqlStore, table: str, columns: list[str]) -> Iterator[list[object]]:
    quoted = ", ".join(f'"{c}"' for c in columns)
    if store.dialect == "sqlite" or table in _ORDERED:
        order = "rowid"
    else:
        order = ", ".join(f'"{c}"' for c in columns[:1])
    for row in store.conn.execute(f"SELECT {quoted} FROM {table} ORDER BY {order}"):
        yield [row[i] for i in range(len(columns))]


def copy_library(
    source: SqlStore, target: SqlStore, on_table: Callable[[str, int], None] | None = None
) -> CopyReport:
    """Copy every row of source into the empty target and check the copy.

    Raises:
        Conflict: the target already holds rows (nothing is written).
        BackendUnavailable: the copy does not match the source (it is rolled back).
    """
    held = {t: n for t, n in target.counts().items() if n}
    if held:
        listed = ", ".join(f"{n} {t}" for t, n in held.items())
        raise Conflict(
            f"the target library {target.describe()} is not empty ({listed}); migrate into "
            "a new, empty database so nothing there is overwritten"
        )
    expected = source.counts()
    source_check = verify_chain(source.conn)
    if not source_check.intact:
        raise Conflict(
            f"the audit log of {source.describe()} does not verify "
            f"({source_check.problems[0]}); restore it from a backup before moving it"
        )
    with target.transaction() as tx:
        for table in TABLES:
            columns = _columns(source, table)
            _copy_table(source, tx, table, columns)
            if on_table is not None:
                on_table(table, expected[table])
        if target.dialect == "postgresql":
            # The next review event continues after the copied ones.
            tx.execute(
                "SELECT setval(pg_get_serial_sequence('review_events', 'event_id'), "
                "(SELECT COALESCE(MAX(event_id), 0) + 1 FROM review_events), false)"
            )
        copied = {t: int(tx.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]) for t in TABLES}
        check = verify_chain(tx)
        if copied != expected or check.head != source_check.head or not check.intact:
            differing = {t: (expected[t], copied[t]) for t in TABLES if expected[t] != copied[t]}
            raise BackendUnavailable(
                f"the copy into {target.describe()} does not match its source (rows per table, "
                f"source vs copy: {differing}; audit head {check.head} vs "
                f"{source_check.head}); nothing was kept"
            )
    if target.library_version() != source.library_version():
        raise BackendUnavailable(
            f"the copy into {target.describe()} reports library version "
            f"{target.library_version()}, its source {source.library_version()}"
        )
    return CopyReport(copied, source.library_version(), check.head, check.events)


def _copy_table(source: SqlStore, tx: Connection, table: str, columns: list[str]) -> None:
    quoted = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" * len(columns))
    sql = f"INSERT INTO {table} ({quoted}) VALUES ({marks})"
    batch: list[list[object]] = []
    for row in _rows(source, table, columns):
        batch.append(row)
        if len(batch) == BATCH:
            tx.executemany(sql, batch)
            batch = []
    if batch:
        tx.executemany(sql, batch)
