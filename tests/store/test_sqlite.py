"""The SQLite store: what goes in comes back out, versions track content, WAL, reopening."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from evident.errors import BackendUnavailable, NotFound
from evident.ingest.chunk import chunk_document
from evident.ingest.normalise import content_id
from evident.models import Chunk, Document, DocumentKind, DocumentMeta, ParsedDocument
from evident.models import SourceSection as Section
from evident.store.sqlite import SqliteStore

FULL_META = DocumentMeta(
    title="Synthetic guideline on gout flares",
    kind=DocumentKind.GUIDELINE,
    source="Test Society of Rheumatology",
    year=2021,
    authors=("Example A", "Sample B"),
    pmid="99999990",
    doi="10.0000/test.0001",
    url="https://example.org/gout",
    licence="CC-BY-4.0",
    grade="Strong recommendation; moderate certainty",
    conditions=("gout", "podagra"),
    kind_inferred=False,
    extra={"country": "Nowhere", "pages": 12, "reviewed": True},
)


def make_document(
    text: str, meta: DocumentMeta | None = None, origin: str = "/docs/a.md"
) -> tuple[Document, list[Chunk]]:
    """A document and its passages, made the way the ingest pipeline makes them."""
    meta = meta or DocumentMeta(title=text.split("\n", 1)[0])
    parsed = ParsedDocument(
        text=text, meta=meta, sections=(Section("", 0, len(text)),), format="markdown"
    )
    document_id = content_id(text)
    chunks = chunk_document(parsed, document_id, target_chars=80, max_chars=200)
    doc = Document(
        document_id=document_id,
        meta=meta,
        text=text,
        format="markdown",
        origin=origin,
        ingested_at=datetime(2024, 5, 1, 12, 30, tzinfo=UTC),
    )
    return doc, chunks


TEXT_A = (
    "Gout flares are treated with colchicine, an NSAID or a corticosteroid. "
    "Treatment works best when started within 24 hours. "
    "Allopurinol is the first-line urate-lowering drug."
)
TEXT_B = "Eccentric calf loading reduced Achilles tendon pain more than waiting."
TEXT_C = "Plantar heel pain usually improves with stretching and supportive shoes."


@pytest.fixture
def store(library_dir: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(library_dir / "library.sqlite")
    yield s
    s.close()


def test_document_and_metadata_round_trip(store: SqliteStore) -> None:
    doc, chunks = make_document(TEXT_A, FULL_META)
    store.add_document(doc, chunks)

    back = store.get_document(doc.document_id)

    assert back == doc
    assert back.meta.extra == {"country": "Nowhere", "pages": 12, "reviewed": True}
    assert back.meta.authors == ("Example A", "Sample B")
    assert back.meta.conditions == ("gout", "podagra")
    assert back.ingested_at.tzinfo is not None
    assert store.document_metas([doc.document_id]) == {doc.document_id: FULL_META}
    [(listed_id, listed_meta, passages)] = store.list_documents()
    assert (listed_id, listed_meta, passages) == (doc.document_id, FULL_META, len(chunks))


def test_minimal_metadata_round_trips_with_defaults(store: SqliteStore) -> None:
    meta = DocumentMeta(title="Untitled note", kind=DocumentKind.UNKNOWN, kind_inferred=True)
    doc, chunks = make_document(TEXT_C, meta)
    store.add_document(doc, chunks)

    assert store.get_document(doc.document_id).meta == meta


def test_passages_round_trip_with_offsets(store: SqliteStore) -> None:
    doc, chunks = make_document(TEXT_A)
    assert len(chunks) > 1, "the fixture text should make several passages"
    store.add_document(doc, chunks)

    back = store.chunks_for(doc.document_id)

    assert back == chunks
    for chunk in back:
        assert doc.text[chunk.start : chunk.end] == chunk.text
        for s, e in chunk.sentences:
            assert 0 <= s < e <= len(chunk.text)
    by_id = store.get_chunks([c.chunk_id for c in chunks] + ["no-such-chunk"])
    assert by_id == {c.chunk_id: c for c in chunks}
    assert store.count_chunks() == len(chunks)


def test_library_version_changes_on_add_and_remove(store: SqliteStore) -> None:
    empty = store.library_version()
    doc_a, chunks_a = make_document(TEXT_A)
    doc_b, chunks_b = make_document(TEXT_B)

    store.add_document(doc_a, chunks_a)
    one = store.library_version()
    store.add_document(doc_b, chunks_b)
    two = store.library_version()
    store.remove_document(doc_b.document_id)
    back_to_one = store.library_version()
    store.remove_document(doc_a.document_id)

    assert len({empty, one, two}) == 3
    assert back_to_one == one
    assert store.library_version() == empty
    assert store.count_chunks() == 0, "removing a document removes its passages"


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


def test_unique_id_prefix_finds_document(store: SqliteStore) -> None:
    doc, chunks = make_document(TEXT_A)
    store.add_document(doc, chunks)

    assert store.get_document(doc.document_id[:10]).document_id == doc.document_id
    assert store.get_document(doc.document_id[:1]).document_id == doc.document_id


def test_ambiguous_prefix_is_not_found(store: SqliteStore) -> None:
    docs = [make_document(f"Document number {i} about gout.") for i in range(40)]
    for doc, chunks in docs:
        store.add_document(doc, chunks)
    # With 40 hex ids, some first character is shared by two of them.
    firsts = [d.document_id[0] for d, _ in docs]
    shared = next(c for c in firsts if firsts.count(c) > 1)

    with pytest.raises(NotFound) as info:
        store.get_document(shared)

    assert str(info.value) == (
        f"no document {shared!r} in the library; run `evident library` to list document ids"
    )


def test_unknown_document_is_not_found_and_nothing_is_lost(store: SqliteStore) -> None:
    doc, chunks = make_document(TEXT_A)
    store.add_document(doc, chunks)
    version = store.library_version()

    with pytest.raises(NotFound) as info:
        store.get_document("feedface")
    assert str(info.value) == (
        "no document 'feedface' in the library; run `evident library` to list document ids"
    )

    with pytest.raises(NotFound) as info:
        store.remove_document("feedface")
    assert str(info.value) == "no document 'feedface' in the library"

    assert store.count_documents() == 1
    assert store.library_version() == version


def test_duplicate_insert_fails_without_changing_the_library(store: SqliteStore) -> None:
    doc, chunks = make_document(TEXT_A)
    store.add_document(doc, chunks)
    version = store.library_version()

    with pytest.raises(sqlite3.IntegrityError):
        store.add_document(doc, chunks)

    assert store.count_documents() == 1
    assert store.count_chunks() == len(chunks)
    assert store.library_version() == version


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
