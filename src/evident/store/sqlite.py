"""The SQLite library store: one file, WAL mode, one connection per thread."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from evident.errors import BackendUnavailable, NotFound
from evident.models import Chunk, Document, DocumentKind, DocumentMeta
from evident.protocols import FloatMatrix
from evident.store.migrations import MIGRATIONS

_META_FIELDS = (
    "title",
    "kind",
    "source",
    "year",
    "authors",
    "pmid",
    "doi",
    "url",
    "licence",
    "grade",
    "conditions",
    "kind_inferred",
    "extra",
)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def meta_to_row(meta: DocumentMeta) -> dict[str, Any]:
    row = asdict(meta)
    row["kind"] = str(meta.kind)
    row["authors"] = json.dumps(list(meta.authors))
    row["conditions"] = json.dumps(list(meta.conditions))
    row["extra"] = json.dumps(meta.extra, sort_keys=True)
    row["kind_inferred"] = int(meta.kind_inferred)
    return row


def meta_from_row(row: sqlite3.Row) -> DocumentMeta:
    return DocumentMeta(
        title=row["title"],
        kind=DocumentKind(row["kind"]),
        source=row["source"] or "",
        year=row["year"],
        authors=tuple(json.loads(row["authors"] or "[]")),
        pmid=row["pmid"],
        doi=row["doi"],
        url=row["url"],
        licence=row["licence"],
        grade=row["grade"],
        conditions=tuple(json.loads(row["conditions"] or "[]")),
        kind_inferred=bool(row["kind_inferred"]),
        extra=json.loads(row["extra"] or "{}"),
    )


def chunk_from_row(row: sqlite3.Row) -> Chunk:
    return Chunk(
        chunk_id=row["chunk_id"],
        document_id=row["document_id"],
        ordinal=row["ordinal"],
        section=row["section"],
        text=row["text"],
        start=row["start"],
        end=row["end"],
        sentences=tuple(tuple(s) for s in json.loads(row["sentences"])),
    )


class SqliteStore:
    """Documents, passages, embeddings and the ingest ledger in one SQLite file."""

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

    def _migrate(self) -> None:
        conn = self.conn
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction() as tx:
                if callable(script):
                    script(tx)
                else:
                    for statement in script.split(";\n"):
                        if statement.strip():
                            tx.execute(statement)
                tx.execute(f"PRAGMA user_version={number}")

    # -- meta --------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return default if row is None else str(row["value"])

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as tx:
            tx.execute(
                "INSERT INTO meta(key, value) VALUES(?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (key, value),
            )

    def library_version(self) -> str:
        """Return a version that changes whenever the set of documents changes.

        It is the document count plus an order-independent digest (XOR of id hashes),
        so two libraries holding the same documents report the same version.
        """
        row = self.conn.execute(
            "SELECT (SELECT COUNT(*) FROM documents) AS n, "
            "(SELECT value FROM meta WHERE key='digest') AS digest"
        ).fetchone()
        digest = int(row["digest"] or "0", 16)
        return f"{row['n']}-{digest:016x}"[:24]

    def _toggle_digest(self, tx: sqlite3.Connection, document_id: str) -> None:
        row = tx.execute("SELECT value FROM meta WHERE key='digest'").fetchone()
        digest = int(row["value"], 16) if row else 0
        digest ^= int(hashlib.sha256(document_id.encode()).hexdigest()[:16], 16)
        tx.execute(
            "INSERT INTO meta(key, value) VALUES('digest', ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (f"{digest:016x}",),
        )

    # -- documents ---------------------------------------------------------
    def has_document(self, document_id: str) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM documents WHERE document_id=?", (document_id,)
        ).fetchone()
        return row is not None

    def add_document(self, doc: Document, chunks: Sequence[Chunk]) -> None:
        """Insert a document with its passages in one transaction."""
        row = meta_to_row(doc.meta)
        with self.transaction() as tx:
            marks = ", ".join("?" * len(_META_FIELDS))
            tx.execute(
                f"INSERT INTO documents(document_id, {', '.join(_META_FIELDS)}, text, format, "
                f"origin, ingested_at) VALUES (?, {marks}, ?, ?, ?, ?)",
                (
                    doc.document_id,
                    *(row[f] for f in _META_FIELDS),
                    doc.text,
                    doc.format,
                    doc.origin,
                    doc.ingested_at.isoformat(),
                ),
            )
            tx.executemany(
                "INSERT INTO chunks(chunk_id, document_id, ordinal, section, text, start, end, "
                "sentences) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        c.chunk_id,
                        c.document_id,
                        c.ordinal,
                        c.section,
                        c.text,
                        c.start,
                        c.end,
                        json.dumps([list(s) for s in c.sentences]),
                    )
                    for c in chunks
                ],
            )
            self._toggle_digest(tx, doc.document_id)

    def remove_document(self, document_id: str) -> None:
        with self.transaction() as tx:
            cur = tx.execute("DELETE FROM documents WHERE document_id=?", (document_id,))
            if cur.rowcount == 0:
                raise NotFound(f"no document {document_id!r} in the library")
            self._toggle_digest(tx, document_id)

    def get_document(self, document_id: str) -> Document:
        row = self.conn.execute(
            "SELECT * FROM documents WHERE document_id=?", (document_id,)
        ).fetchone()
        if row is None:
            # Accept a unique prefix, as shown by `evident library`.
            rows = self.conn.execute(
                "SELECT * FROM documents WHERE document_id LIKE ? LIMIT 2", (document_id + "%",)
            ).fetchall()
            if len(rows) != 1:
                raise NotFound(
                    f"no document {document_id!r} in the library; "
                    "run `evident library` to list document ids"
                )
            row = rows[0]
        return Document(
            document_id=row["document_id"],
            meta=meta_from_row(row),
            text=row["text"],
            format=row["format"],
            origin=row["origin"],
            ingested_at=datetime.fromisoformat(row["ingested_at"]),
        )

    def document_metas(self, document_ids: Iterable[str] | None = None) -> dict[str, DocumentMeta]:
        """Return metadata by document id (all documents when ids is None)."""
        cols = ", ".join(_META_FIELDS)
        if document_ids is None:
            rows = self.conn.execute(f"SELECT document_id, {cols} FROM documents").fetchall()
        else:
            ids = list(dict.fromkeys(document_ids))
            rows = []
            for i in range(0, len(ids), 500):
                part = ids[i : i + 500]
                rows += self.conn.execute(
                    f"SELECT document_id, {cols} FROM documents WHERE document_id IN "
                    f"({', '.join('?' * len(part))})",
                    part,
                ).fetchall()
        return {r["document_id"]: meta_from_row(r) for r in rows}

    def list_documents(
        self, kind: str | None = None, limit: int | None = None, offset: int = 0
    ) -> list[tuple[str, DocumentMeta, int]]:
        """Return (document_id, meta, passage count), newest first."""
        cols = ", ".join(f"d.{f}" for f in _META_FIELDS)
        sql = (
            f"SELECT d.document_id, {cols}, "
            "(SELECT COUNT(*) FROM chunks c WHERE c.document_id=d.document_id) AS n "
            "FROM documents d"
        )
        args: list[Any] = []
        if kind:
            sql += " WHERE d.kind=?"
            args.append(kind)
        sql += " ORDER BY d.rowid DESC LIMIT ? OFFSET ?"
        args += [limit if limit is not None else -1, offset]
        return [
            (r["document_id"], meta_from_row(r), r["n"])
            for r in self.conn.execute(sql, args).fetchall()
        ]

    def count_documents(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0])

    # -- chunks ------------------------------------------------------------
    def chunks_for(self, document_id: str) -> list[Chunk]:
        rows = self.conn.execute(
            "SELECT * FROM chunks WHERE document_id=? ORDER BY ordinal", (document_id,)
        ).fetchall()
        return [chunk_from_row(r) for r in rows]

    def get_chunks(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        out: dict[str, Chunk] = {}
        ids = list(dict.fromkeys(chunk_ids))
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            rows = self.conn.execute(
                f"SELECT * FROM chunks WHERE chunk_id IN ({', '.join('?' * len(part))})", part
            ).fetchall()
            out.update((r["chunk_id"], chunk_from_row(r)) for r in rows)
        return out

    def chunk_facts(self, chunk_ids: Sequence[str]) -> dict[str, tuple[str, str, int]]:
        """Return (document id, kind, year or 0) of each passage still in the library."""
        out: dict[str, tuple[str, str, int]] = {}
        ids = list(dict.fromkeys(chunk_ids))
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            rows = self.conn.execute(
                "SELECT c.chunk_id, c.document_id, d.kind, d.year FROM chunks c "
                "JOIN documents d ON d.document_id=c.document_id WHERE c.chunk_id IN "
                f"({', '.join('?' * len(part))})",
                part,
            ).fetchall()
            out.update((r[0], (r[1], r[2], r[3] or 0)) for r in rows)
        return out

    def iter_passages(self) -> Iterator[sqlite3.Row]:
        """Yield every passage with its document's title, kind and year, in a stable order.

        Rows have chunk_id, document_id, section, text, title, kind, year.
        """
        yield from self.conn.execute(
            "SELECT c.chunk_id, c.document_id, c.section, c.text, d.title, d.kind, d.year "
            "FROM chunks c JOIN documents d ON d.document_id=c.document_id ORDER BY c.rowid"
        )

    def count_chunks(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    # -- embeddings --------------------------------------------------------
    def missing_embeddings(
        self, model: str, after: int = 0, limit: int = 1024
    ) -> list[sqlite3.Row]:
        """Return up to limit passages (as in iter_passages, plus their rowid) after rowid
        `after` that are not yet embedded with this model, in rowid order."""
        return self.conn.execute(
            "SELECT c.rowid, c.chunk_id, c.document_id, c.section, c.text, d.title, d.kind, "
            "d.year FROM chunks c JOIN documents d ON d.document_id=c.document_id "
            "LEFT JOIN embeddings e ON e.chunk_id=c.chunk_id AND e.model=? "
            "WHERE e.chunk_id IS NULL AND c.rowid > ? ORDER BY c.rowid LIMIT ?",
            (model, after, limit),
        ).fetchall()

    def count_embeddings(self, model: str) -> int:
        row = self.conn.execute("SELECT COUNT(*) FROM embeddings WHERE model=?", (model,))
        return int(row.fetchone()[0])

    def put_embeddings(self, model: str, ids: Sequence[str], vectors: FloatMatrix) -> None:
        with self.transaction() as tx:
            tx.executemany(
                "INSERT OR REPLACE INTO embeddings(chunk_id, model, vector) VALUES (?, ?, ?)",
                [
                    (cid, model, np.asarray(v, dtype=np.float16).tobytes())
                    for cid, v in zip(ids, vectors, strict=True)
                ],
            )

    def iter_embeddings(self, model: str) -> Iterator[tuple[str, bytes]]:
        """Yield (chunk_id, float16 vector bytes) for every passage embedded with model."""
        yield from self.conn.execute(
            "SELECT chunk_id, vector FROM embeddings WHERE model=? ORDER BY rowid", (model,)
        )

    # -- the change log the search index follows ---------------------------------
    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Read a consistent view of the library (one read transaction) in this block."""
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
        """Return the sequence number of the latest change to passages or vectors."""
        # The AUTOINCREMENT counter outlives the entries forget_changes drops.
        row = self.conn.execute("SELECT seq FROM sqlite_sequence WHERE name='index_log'").fetchone()
        return int(row[0]) if row else 0

    def changes(self, after: int, through: int) -> tuple[list[str], list[str]]:
        """Return the passages added or removed, and those given vectors, in (after, through].

        A passage in the first list is in neither; each list is in order of first change.
        """
        passages: dict[str, None] = {}
        vectors: dict[str, None] = {}
        for row in self.conn.execute(
            "SELECT chunk_id, vector_only FROM index_log WHERE seq > ? AND seq <= ? ORDER BY seq",
            (after, through),
        ):
            (vectors if row["vector_only"] else passages)[row["chunk_id"]] = None
        return list(passages), [c for c in vectors if c not in passages]

    def forget_changes(self, through: int) -> None:
        """Drop change-log entries the index already reflects."""
        with self.transaction() as tx:
            tx.execute("DELETE FROM index_log WHERE seq <= ?", (through,))

    def passages_by_id(self, chunk_ids: Sequence[str]) -> list[sqlite3.Row]:
        """Return the passages (as in iter_passages) still in the library, in id order."""
        ids = list(dict.fromkeys(chunk_ids))
        out: list[sqlite3.Row] = []
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            out += self.conn.execute(
                "SELECT c.chunk_id, c.document_id, c.section, c.text, d.title, d.kind, d.year "
                "FROM chunks c JOIN documents d ON d.document_id=c.document_id "
                f"WHERE c.chunk_id IN ({', '.join('?' * len(part))})",
                part,
            ).fetchall()
        return out

    def embeddings_by_id(self, model: str, chunk_ids: Sequence[str]) -> dict[str, bytes]:
        """Return the float16 vector bytes of those passages embedded with model."""
        ids = list(dict.fromkeys(chunk_ids))
        out: dict[str, bytes] = {}
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            rows = self.conn.execute(
                "SELECT chunk_id, vector FROM embeddings WHERE model=? AND chunk_id IN "
                f"({', '.join('?' * len(part))})",
                [model, *part],
            )
            out.update((r["chunk_id"], r["vector"]) for r in rows)
        return out

    # -- ingest ledger -----------------------------------------------------
    def source_record(self, origin: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.conn.execute(
            "SELECT * FROM sources WHERE origin=?", (origin,)
        ).fetchone()
        return row

    def record_source(
        self,
        origin: str,
        content_hash: str,
        status: str,
        document_ids: Sequence[str] = (),
        reason: str = "",
    ) -> None:
        with self.transaction() as tx:
            tx.execute(
                "INSERT INTO sources(origin, content_hash, status, reason, document_ids, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(origin) DO UPDATE SET "
                "content_hash=excluded.content_hash, status=excluded.status, "
                "reason=excluded.reason, document_ids=excluded.document_ids, "
                "updated_at=excluded.updated_at",
                (origin, content_hash, status, reason, json.dumps(list(document_ids)), _now()),
            )

    def failed_sources(self) -> list[tuple[str, str]]:
        rows = self.conn.execute(
            "SELECT origin, reason FROM sources WHERE status='failed' ORDER BY origin"
        ).fetchall()
        return [(r["origin"], r["reason"]) for r in rows]
