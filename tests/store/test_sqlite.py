"""The SQLite store's own behaviour: WAL, reopening, damaged files (what both backends
do is in test_contract.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from evident.errors import BackendUnavailable
from evident.store.sqlite import SqliteStore
from store_helpers import FULL_META, TEXT_A, TEXT_B, TEXT_C, make_document


@pytest.fixture
def store(library_dir: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(library_dir / "library.sqlite")
    yield s
    s.close()


def test_library_version_ignores_insertion_order(tmp_path: Path) -> None:
    docs = [make_document(t) for t in (TEXT_A, TEXT_B, TEXT_C)]
    first = SqliteStore(tmp_path / "one" / "library.sqlite")
    second = SqliteStore(tmp_path / "two" / "library.sqlite")
    for doc, chunks in docs:
        first.add_document(doc, chunks)
    for doc, chunks in reversed(docs):
        second.add_document(doc, chunks)

    assert first.library_version() == second.library_version()

    # Same count, different documents: a different version.
    third = SqliteStore(tmp_path / "three" / "library.sqlite")
    for doc, chunks in [*docs[:2], make_document("Something else entirely.")]:
        third.add_document(doc, chunks)
    assert third.library_version() != first.library_version()
    for s in (first, second, third):
        s.close()


def test_wal_mode_is_on(store: SqliteStore) -> None:
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # A fresh connection sees WAL too: it is a property of the database file.
    with sqlite3.connect(store.path) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_database_survives_reopening(library_dir: Path) -> None:
    path = library_dir / "library.sqlite"
    first = SqliteStore(path)
    doc, chunks = make_document(TEXT_A, FULL_META)
    first.add_document(doc, chunks)
    first.record_source("/docs/a.md", "abc123", "done", [doc.document_id])
    first.record_source("/docs/bad.md", "", "failed", reason="/docs/bad.md: broken")
    version = first.library_version()
    first.close()

    again = SqliteStore(path)

    assert again.get_document(doc.document_id) == doc
    assert again.chunks_for(doc.document_id) == chunks
    assert again.library_version() == version
    record = again.source_record("/docs/a.md")
    assert record is not None
    assert (record["status"], record["content_hash"]) == ("done", "abc123")
    assert again.failed_sources() == [("/docs/bad.md", "/docs/bad.md: broken")]
    assert again.conn.execute("PRAGMA user_version").fetchone()[0] >= 1
    again.close()


def test_damaged_database_is_refused_and_left_alone(library_dir: Path) -> None:
    path = library_dir / "library.sqlite"
    library_dir.mkdir(parents=True)
    garbage = b"this is not a database, but it is the user's file" * 100
    path.write_bytes(garbage)

    with pytest.raises(BackendUnavailable) as info:
        SqliteStore(path)

    assert str(info.value) == (
        f"cannot open the library database {path}: file is not a database. "
        "If the file is damaged, restore it from a backup or choose another --library."
    )
    assert path.read_bytes() == garbage
