"""The contract both store backends keep: SQLite and PostgreSQL, one suite.

Every test here runs on both (the PostgreSQL server is a real one, started for the
session by tests/postgres.py). It covers what the app relies on: documents, passages and
embeddings, the ingest ledger, users and tokens, articles and revisions, the hash-chained
audit log that nobody can update or delete, threads, jobs, and concurrent writers.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from evident.app import App, build_app
from evident.config import load_settings
from evident.errors import Conflict, NotFound
from evident.models import DocumentKind, DocumentMeta
from evident.protocols import DocumentStore, PassageStore
from evident.review.records import Job, JobStatus, Role
from evident.store.articles import ArticleStore, now
from evident.store.sql import SqlStore
from evident.store.sqlite import SqliteStore
from store_helpers import FULL_META, TEXT_A, TEXT_B, TEXT_C, make_document

try:
    import psycopg

    DATABASE_ERRORS: tuple[type[Exception], ...] = (sqlite3.DatabaseError, psycopg.Error)
except ImportError:  # the PostgreSQL half skips; the SQLite half still runs
    DATABASE_ERRORS = (sqlite3.DatabaseError,)

BACKENDS = ["sqlite", "postgresql"]
QUESTION = "How is a gout flare treated?"


def open_store(backend: str, request: pytest.FixtureRequest, directory: Path) -> SqlStore:
    if backend == "sqlite":
        return SqliteStore(directory / "library.sqlite")
    from evident.store.postgres import PostgresStore

    return PostgresStore(request.getfixturevalue("pg_url"), pool_size=4)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, library_dir: Path) -> Iterator[SqlStore]:
    s = open_store(request.param, request, library_dir)
    yield s
    s.close()


@pytest.fixture(params=BACKENDS)
def lib_on(request: pytest.FixtureRequest, library_dir: Path, sample_docs: Path) -> Iterator[App]:
    """The synthetic test documents, ingested and indexed with BM25 only, on each backend."""
    settings = load_settings(library=library_dir)
    settings.index.embedder = "none"
    if request.param == "postgresql":
        settings.store.url = request.getfixturevalue("pg_url")
    app = build_app(settings)
    report = app.ingest([sample_docs])
    assert not report.failed
    app.refresh_index()
    yield app
    app.store.close()


@pytest.fixture
def reviewed(lib_on: App) -> App:
    """One article taken through review to publication, by ann, bob and eve."""
    app = lib_on
    ann = app.create_user("ann", Role.AUTHOR, actor="test")[0]
    bob = app.create_user("bob", Role.REVIEWER, actor="test")[0]
    eve = app.create_user("eve", Role.EDITOR, actor="test")[0]
    record = app.answer(QUESTION, fresh=True, save=True, user=ann).record
    assert record is not None
    for action, who in [("submit", ann), ("claim", bob), ("approve", bob), ("publish", eve)]:
        app.editorial.act(action, record.article_id, who, "ok")
    return app


# -- documents and passages ---------------------------------------------------------------
def test_document_and_metadata_round_trip(store: SqlStore) -> None:
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


def test_minimal_metadata_round_trips_with_defaults(store: SqlStore) -> None:
    meta = DocumentMeta(title="Untitled note", kind=DocumentKind.UNKNOWN, kind_inferred=True)
    doc, chunks = make_document(TEXT_C, meta)
    store.add_document(doc, chunks)

    assert store.get_document(doc.document_id).meta == meta


def test_passages_round_trip_with_offsets(store: SqlStore) -> None:
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


def test_library_version_changes_on_add_and_remove(store: SqlStore) -> None:
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


def test_unique_id_prefix_finds_document(store: SqlStore) -> None:
    doc, chunks = make_document(TEXT_A)
    store.add_document(doc, chunks)

    assert store.get_document(doc.document_id[:10]).document_id == doc.document_id
    assert store.get_document(doc.document_id[:1]).document_id == doc.document_id


def test_ambiguous_prefix_is_not_found(store: SqlStore) -> None:
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


def test_unknown_document_is_not_found_and_nothing_is_lost(store: SqlStore) -> None:
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


def test_duplicate_insert_fails_without_changing_the_library(store: SqlStore) -> None:
    doc, chunks = make_document(TEXT_A)
    store.add_document(doc, chunks)
    version = store.library_version()

    with pytest.raises(DATABASE_ERRORS):
        store.add_document(doc, chunks)

    assert store.count_documents() == 1
    assert store.count_chunks() == len(chunks)
    assert store.library_version() == version


def test_list_documents_newest_first_by_kind_with_paging(store: SqlStore) -> None:
    made = [
        make_document(TEXT_A, DocumentMeta(title="A", kind=DocumentKind.GUIDELINE)),
        make_document(TEXT_B, DocumentMeta(title="B", kind=DocumentKind.RANDOMISED_TRIAL)),
        make_document(TEXT_C, DocumentMeta(title="C", kind=DocumentKind.GUIDELINE)),
    ]
    for doc, chunks in made:
        store.add_document(doc, chunks)

    titles = [meta.title for _, meta, _ in store.list_documents()]
    guidelines = [meta.title for _, meta, _ in store.list_documents(kind="guideline")]
    second_page = [meta.title for _, meta, _ in store.list_documents(limit=1, offset=1)]
    passages = [row["chunk_id"] for row in store.iter_passages()]

    assert titles == ["C", "B", "A"]
    assert guidelines == ["C", "A"]
    assert second_page == ["B"]
    assert passages == [c.chunk_id for _, chunks in made for c in chunks], "insertion order"
    assert store.count_documents() == 3


def test_the_same_documents_give_the_same_version_on_either_backend(
    tmp_path: Path, pg_url: str
) -> None:
    from evident.store.postgres import PostgresStore

    docs = [make_document(t) for t in (TEXT_A, TEXT_B, TEXT_C)]
    sqlite_store = SqliteStore(tmp_path / "library.sqlite")
    pg_store = PostgresStore(pg_url, pool_size=2)
    for doc, chunks in docs:
        sqlite_store.add_document(doc, chunks)
    for doc, chunks in reversed(docs):
        pg_store.add_document(doc, chunks)

    assert pg_store.library_version() == sqlite_store.library_version()
    assert pg_store.counts() == sqlite_store.counts()
    sqlite_store.close()
    pg_store.close()


def test_embeddings_are_stored_replaced_and_removed_with_their_document(store: SqlStore) -> None:
    doc, chunks = make_document(TEXT_A)
    store.add_document(doc, chunks)
    ids = [c.chunk_id for c in chunks]
    first = np.eye(len(ids), 4, dtype=np.float32)

    store.put_embeddings("m", ids[:1], first[:1])
    assert [r["chunk_id"] for r in store.missing_embeddings("m")] == ids[1:]
    store.put_embeddings("m", ids, first)
    store.put_embeddings("m", ids[:1], np.full((1, 4), 0.5, dtype=np.float32))
    found = store.embeddings_by_id("m", [*ids, "absent"])
    vectors = {c: np.frombuffer(v, dtype=np.float16).astype(np.float32) for c, v in found.items()}

    assert sorted(vectors) == sorted(ids)
    assert vectors[ids[0]].tolist() == [0.5, 0.5, 0.5, 0.5], "a second put replaces the vector"
    assert all(np.array_equal(vectors[c], first[i]) for i, c in enumerate(ids) if i)
    assert [c for c, _ in store.iter_embeddings("m")][-1] == ids[0], "in the order stored"
    assert store.count_embeddings("m") == len(ids)
    assert store.count_embeddings("other") == 0
    store.remove_document(doc.document_id)
    assert store.count_embeddings("m") == 0


def test_ingest_ledger_and_meta(store: SqlStore) -> None:
    store.record_source("/docs/a.md", "h1", "failed", reason="broken")
    store.record_source("/docs/a.md", "h2", "done", ["d1", "d2"])
    store.record_source("/docs/b.md", "h3", "failed", reason="/docs/b.md: not UTF-8")
    store.set_meta("note", "50% done")  # a literal % must survive PostgreSQL's placeholders

    record = store.source_record("/docs/a.md")
    assert record is not None
    assert (record["content_hash"], record["status"], record["document_ids"]) == (
        "h2",
        "done",
        '["d1", "d2"]',
    )
    assert store.source_record("/docs/none.md") is None
    assert store.failed_sources() == [("/docs/b.md", "/docs/b.md: not UTF-8")]
    assert store.get_meta("note") == "50% done"
    assert store.get_meta("absent", "default") == "default"


def test_a_failed_transaction_leaves_nothing_behind(store: SqlStore) -> None:
    doc, chunks = make_document(TEXT_A)

    with pytest.raises(RuntimeError), store.transaction():
        store.add_document(doc, chunks)
        store.set_meta("half", "written")
        raise RuntimeError("stopped halfway")

    assert store.count_documents() == 0
    assert store.count_chunks() == 0
    assert store.get_meta("half") is None


# -- the audit log ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("UPDATE review_events SET actor='mallory'", "the audit log is append-only"),
        ("DELETE FROM review_events", "the audit log is append-only"),
        ("UPDATE audit_chain SET hash='0'", "the audit chain is append-only"),
        ("DELETE FROM audit_chain", "the audit chain is append-only"),
        ("UPDATE revisions SET note='rewritten'", "revisions are immutable"),
        ("DELETE FROM revisions", "revisions are immutable"),
    ],
)
def test_audit_rows_cannot_be_updated_or_deleted(
    reviewed: App, statement: str, message: str
) -> None:
    before = reviewed.articles.events()

    with pytest.raises(DATABASE_ERRORS, match=message), reviewed.store.transaction() as tx:
        tx.execute(statement)

    assert reviewed.articles.events() == before
    check = reviewed.verify_audit()
    assert (check.intact, check.events) == (True, len(before))


def test_postgresql_refuses_truncating_the_audit_log(pg_url: str) -> None:
    from evident.store.postgres import PostgresStore

    store = PostgresStore(pg_url, pool_size=1)
    ArticleStore(store).append_event(actor="ann", action="create_user")
    for table, message in [
        ("review_events", "the audit log is append-only"),
        ("audit_chain", "the audit chain is append-only"),
    ]:
        with pytest.raises(DATABASE_ERRORS, match=message), store.transaction() as tx:
            tx.execute(f"TRUNCATE {table} CASCADE")
    assert store.counts()["review_events"] == store.counts()["audit_chain"] == 1
    store.close()


def test_a_status_change_without_its_review_event_is_refused(reviewed: App) -> None:
    [record] = reviewed.articles.list_records()

    refused = pytest.raises(DATABASE_ERRORS, match="a status change needs the review event")
    with refused, reviewed.store.transaction() as tx:
        tx.execute("UPDATE articles SET status='draft' WHERE article_id=?", (record.article_id,))

    assert reviewed.articles.get_record(record.article_id).status.value == "published"


def test_concurrent_appends_keep_one_unbroken_chain(store: SqlStore) -> None:
    articles = ArticleStore(store)
    errors: list[BaseException] = []

    def append(worker: int) -> None:
        try:
            for n in range(15):
                articles.append_event(actor=f"w{worker}", action="comment", comment=str(n))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    check = articles.verify_audit()
    assert (check.intact, check.events) == (True, 90), check.problems[:3]
    assert len({(e.actor, e.comment) for e in articles.events()}) == 90


# -- the review workflow, users, threads, jobs -------------------------------------------
def test_a_published_article_answers_its_question_with_its_history(reviewed: App) -> None:
    [record] = reviewed.articles.list_records()
    ann = reviewed.user("ann")

    answer = reviewed.answer(QUESTION)
    revised = reviewed.editorial.revise(record.article_id, ann, "a second look")
    events = reviewed.articles.events(record.article_id)

    assert answer.source == "published"
    assert answer.record is not None and answer.record.article_id == record.article_id
    assert [e.action for e in events][:5] == ["create", "submit", "claim", "approve", "publish"]
    assert [r.revision for r in reviewed.articles.list_revisions(record.article_id)] == [1]
    assert revised.supersedes == record.article_id
    with pytest.raises(Conflict, match="was revised meanwhile"):
        reviewed.articles.change_record(
            record.article_id, expect_revision=record.revision + 1, needs_rereview=True
        )
    assert reviewed.verify_audit().intact


def test_users_tokens_expire_and_are_revoked(lib_on: App) -> None:
    user, token = lib_on.create_user("rita", Role.READER, actor="test")
    session = lib_on.start_session(user)
    articles = lib_on.articles
    articles.add_token(user.user_id, "expired-hash", expires_at=now() - timedelta(seconds=1))

    assert lib_on.authenticate(token) == user
    assert lib_on.authenticate(session) == user
    assert articles.user_by_token_hash("expired-hash") is None
    assert articles.count_tokens(user.user_id) == 1
    with pytest.raises(Conflict, match="a user named 'rita' already exists"):
        lib_on.create_user("rita", Role.EDITOR, actor="test")
    assert lib_on.revoke_tokens("rita", actor="test") == 3, "the expired one too"
    assert lib_on.authenticate(token) is None
    assert lib_on.authenticate(session) is None
    assert [u.name for u in articles.list_users()] == ["rita"]


def test_threads_keep_their_turns(lib_on: App) -> None:
    first = lib_on.ask_in_thread(QUESTION)
    second = lib_on.ask_in_thread("What if it comes back?", thread_id=first.thread_id)

    thread = lib_on.thread(first.thread_id[:6])

    assert [t.index for t in thread.turns] == [1, 2]
    assert thread.turns[0].answer.article == first.answer.article
    assert thread.turns[1].resolved == second.resolved
    assert [t.thread_id for t in lib_on.threads()] == [first.thread_id]
    assert lib_on.thread_store.count_turns(first.thread_id) == 2
    with pytest.raises(NotFound, match="no thread 'ffffffffffff'"):
        lib_on.thread("ffffffffffff")


def test_jobs_move_once_and_stale_moves_lose(lib_on: App) -> None:
    stamp = now()
    job = Job(
        "j1", "ingest", JobStatus.QUEUED, "a.md", "/x/a.md", "ann", stamp, stamp, runner="h:1"
    )
    articles = lib_on.articles
    articles.add_job(job)

    assert articles.move_job(job, JobStatus.RUNNING, runner="h:2") is True
    assert articles.move_job(job, JobStatus.RUNNING, runner="h:3") is False, "a stale read"
    assert [j.job_id for j in articles.unfinished_jobs()] == ["j1"]
    articles.update_job("j1", JobStatus.DONE, report={"done": 1})
    done = articles.get_job("j1")
    assert (done.status, done.report, done.runner) == (JobStatus.DONE, {"done": 1}, "h:2")
    assert articles.unfinished_jobs() == []
    assert [j.job_id for j in articles.list_jobs()] == ["j1"]


def test_question_vectors_round_trip(reviewed: App) -> None:
    [record] = reviewed.articles.list_records()
    vector = np.arange(4, dtype=np.float32)

    reviewed.articles.put_question_vector(record.article_id, "m", vector)
    reviewed.articles.put_question_vector(record.article_id, "m", vector + 1)

    found = reviewed.articles.question_vectors([record.article_id, "none"], "m")
    assert list(found) == [record.article_id]
    assert found[record.article_id].tolist() == [1.0, 2.0, 3.0, 4.0]


# -- backups ------------------------------------------------------------------------------
def test_backup_while_writing_restores_to_exactly_what_it_recorded(
    reviewed: App, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """SQLite's online backup and PostgreSQL's pg_dump both copy one consistent moment
    while review events keep arriving, and backup.json describes that moment."""
    stop = threading.Event()
    writes: list[int] = []

    def keep_writing() -> None:
        while not stop.is_set():
            writes.append(reviewed.articles.append_event(actor="bob", action="comment"))

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        summary = reviewed.backup(tmp_path / "backup")
    finally:
        stop.set()
        writer.join()

    settings = load_settings(library=tmp_path / "restored")
    settings.index.embedder = "none"
    if reviewed.store.dialect == "postgresql":
        settings.store.url = request.getfixturevalue("pg_cluster").new_database()
    target = build_app(settings)
    target.restore(tmp_path / "backup")
    check = target.verify_audit()

    assert writes, "events were written during the backup"
    assert summary["store"] == reviewed.store.dialect
    assert summary["audit_intact"] is True
    assert (check.intact, check.events, check.head) == (
        True,
        summary["audit_events"],
        summary["audit_head"],
    )
    assert target.store.count_documents() == summary["documents"] == 3
    assert target.answer(QUESTION).source == "published"
    target.store.close()


def test_both_backends_play_every_store_role(store: SqlStore) -> None:
    assert isinstance(store, PassageStore)
    assert isinstance(store, DocumentStore)


def test_without_the_postgres_extra_the_error_gives_the_install_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import sys

    from evident.errors import BackendUnavailable

    monkeypatch.setitem(sys.modules, "psycopg", None)
    settings = load_settings(library=tmp_path / "library")
    settings.store.url = "postgresql://evident@127.0.0.1:1/evident"

    with pytest.raises(BackendUnavailable) as info:
        build_app(settings)

    assert str(info.value) == (
        "the PostgreSQL store needs the postgres extra; install it with "
        "`pip install 'evident[postgres]'` (or `.venv/bin/pip install psycopg[binary]==3.3.9 "
        "psycopg-pool==3.3.3` in a source checkout)"
    )


def test_a_store_url_that_is_not_postgresql_is_refused_with_the_fix(tmp_path: Path) -> None:
    from evident.errors import InvalidInput

    with pytest.raises(InvalidInput) as info:
        load_settings(library=tmp_path, store={"url": "mysql://db/evident"})

    assert "setting store.url = 'mysql://db/evident'" in str(info.value)
    assert "postgresql://USER:PASSWORD@HOST:PORT/DATABASE" in str(info.value)
