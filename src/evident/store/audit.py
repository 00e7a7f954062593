"""Tamper evidence for the audit log, and online backups of the library database.

Every review event is sealed into a hash chain (table audit_chain) in the transaction that
writes it: its hash covers the event's fields and the hash of the event before it. The
triggers already refuse UPDATE and DELETE on the log; the chain shows whether anyone got
past them by editing the file. `verify_chain` recomputes it: an event changed after it was
written, one deleted, or one inserted outside evident is reported with its id. Someone who
can write the file can also rewrite the whole chain, so keep the head hash (printed by
`evident audit verify` and by every backup) somewhere else to compare against.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evident.store.sql import Connection, Row

GENESIS = "0" * 64
_FIELDS = (
    "event_id",
    "article_id",
    "revision",
    "actor",
    "action",
    "from_status",
    "to_status",
    "target",
    "comment",
    "created_at",
)


def event_hash(previous: str, row: Row | dict[str, Any]) -> str:
    """The chain hash of one event: sha256 of the previous hash and the event's fields."""
    fields = {name: row[name] for name in _FIELDS}
    payload = previous + json.dumps(fields, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def chain_head(conn: Connection) -> str:
    row = conn.execute("SELECT hash FROM audit_chain ORDER BY event_id DESC LIMIT 1").fetchone()
    return str(row[0]) if row is not None else GENESIS


def seal_event(conn: Connection, event_id: int) -> str:
    """Add one just-written event to the chain (call inside its transaction)."""
    row = conn.execute("SELECT * FROM review_events WHERE event_id=?", (event_id,)).fetchone()
    digest = event_hash(chain_head(conn), row)
    conn.execute("INSERT INTO audit_chain(event_id, hash) VALUES (?, ?)", (event_id, digest))
    return digest


def seal_unsealed(conn: Connection) -> None:
    """Seal the events written before the chain existed (migration 6), oldest first."""
    rows = conn.execute(
        "SELECT event_id FROM review_events WHERE event_id NOT IN "
        "(SELECT event_id FROM audit_chain) ORDER BY event_id"
    ).fetchall()
    for (event_id,) in rows:
        seal_event(conn, int(event_id))


@dataclass
class ChainCheck:
    """The outcome of verifying the audit log against its hash chain."""

    events: int = 0
    head: str = GENESIS
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


def verify_chain(conn: Connection) -> ChainCheck:
    """Recompute the chain over the whole log and report every event that breaks it."""
    check = ChainCheck()
    sealed = {int(k): str(v) for k, v in conn.execute("SELECT event_id, hash FROM audit_chain")}
    columns = ", ".join(_FIELDS)
    events = {
        int(values[0]): dict(zip(_FIELDS, values, strict=True))
        for values in conn.execute(f"SELECT {columns} FROM review_events")
    }
    previous = GENESIS
    for event_id in sorted(sealed.keys() | events.keys()):
        stored = sealed.get(event_id)
        event = events.get(event_id)
        if event is None:
            check.problems.append(
                f"event {event_id} is in the hash chain but not in the log: it was deleted"
            )
            previous = stored or previous  # the events after it still verify
            continue
        check.events += 1
        label = f"event {event_id} ({event['action']} by {event['actor']} at {event['created_at']})"
        if stored is None:
            check.problems.append(f"{label} is not in the hash chain: it was added outside evident")
            continue
        if stored != event_hash(previous, event):
            check.problems.append(
                f"{label} does not match its hash: it was changed after it was written"
            )
        previous = stored
    check.head = previous
    return check


def backup_database(source: Path, target: Path) -> None:
    """Copy a live SQLite database with the online backup API (safe while it is in use)."""
    src = sqlite3.connect(source, timeout=30.0)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def integrity_problem(path: Path) -> str | None:
    """What PRAGMA integrity_check finds wrong with a database file, or None."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        result = conn.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        return str(exc)
    finally:
        conn.close()
    return None if result == "ok" else str(result)
