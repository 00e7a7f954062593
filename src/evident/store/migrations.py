"""Schema migrations for both backends, in one list applied in order.

Each migration has its SQLite and its PostgreSQL spelling; version N means the same
tables on either (SQLite records it in PRAGMA user_version, PostgreSQL in the table
evident_schema). Append new migrations; never edit one that has shipped. A migration may
end with a function, run on the connection in the migration's transaction, when it must
compute something.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from evident.store.audit import seal_unsealed
from evident.store.sql import Connection


@dataclass(frozen=True)
class Migration:
    """One schema step, in each backend's SQL."""

    sqlite: str
    postgresql: str
    then: Callable[[Connection], None] | None = None

    def apply(self, tx: Connection, dialect: Literal["sqlite", "postgresql"]) -> None:
        if dialect == "sqlite":
            for statement in self.sqlite.split(";\n"):
                if statement.strip():
                    tx.execute(statement)
        else:
            tx.execute(self.postgresql)  # one call: PL/pgSQL bodies hold semicolons
        if self.then is not None:
            self.then(tx)


SQLITE_DOCUMENTS = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE documents (
    document_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    kind TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    year INTEGER,
    authors TEXT NOT NULL DEFAULT '[]',
    pmid TEXT,
    doi TEXT,
    url TEXT,
    licence TEXT,
    grade TEXT,
    conditions TEXT NOT NULL DEFAULT '[]',
    kind_inferred INTEGER NOT NULL DEFAULT 0,
    extra TEXT NOT NULL DEFAULT '{}',
    text TEXT NOT NULL,
    format TEXT NOT NULL,
    origin TEXT NOT NULL,
    ingested_at TEXT NOT NULL
);
CREATE INDEX documents_pmid ON documents(pmid);
CREATE INDEX documents_kind ON documents(kind);
CREATE TABLE chunks (
    chunk_id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL REFERENCES documents(document_id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    section TEXT NOT NULL,
    text TEXT NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    sentences TEXT NOT NULL
);
CREATE INDEX chunks_document ON chunks(document_id, ordinal);
CREATE TABLE embeddings (
    chunk_id TEXT NOT NULL REFERENCES chunks(chunk_id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (chunk_id, model)
);
CREATE TABLE sources (
    origin TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    document_ids TEXT NOT NULL DEFAULT '[]',
    updated_at TEXT NOT NULL
)
"""

# Migration 2: editorial review. Users and hashed API tokens; articles with immutable
# revisions; an append-only audit log (triggers refuse UPDATE and DELETE, so no interface
# can rewrite history); question vectors for matching published articles; ingest jobs.
SQLITE_REVIEW = """
CREATE TABLE users (
    user_id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(user_id),
    created_at TEXT NOT NULL
);
CREATE INDEX tokens_user ON tokens(user_id);
CREATE TABLE articles (
    article_id TEXT PRIMARY KEY,
    question TEXT NOT NULL,
    question_key TEXT NOT NULL,
    question_type TEXT NOT NULL,
    audience TEXT NOT NULL,
    condition TEXT NOT NULL,
    status TEXT NOT NULL,
    author TEXT NOT NULL,
    reviewer TEXT,
    revision INTEGER NOT NULL,
    library_version TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    reviewed_at TEXT,
    reviewed_by TEXT,
    published_at TEXT,
    needs_rereview INTEGER NOT NULL DEFAULT 0,
    rereview_reason TEXT NOT NULL DEFAULT '',
    supersedes TEXT,
    superseded_by TEXT
);
CREATE INDEX articles_status ON articles(status);
CREATE TABLE revisions (
    article_id TEXT NOT NULL REFERENCES articles(article_id),
    revision INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    author TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    article_json TEXT NOT NULL,
    PRIMARY KEY (article_id, revision)
);
CREATE TABLE review_events (
    event_id INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id TEXT,
    revision INTEGER,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT,
    target TEXT NOT NULL DEFAULT '',
    comment TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX review_events_article ON review_events(article_id, event_id);
CREATE TRIGGER review_events_no_update BEFORE UPDATE ON review_events
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER review_events_no_delete BEFORE DELETE ON review_events
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER revisions_no_update BEFORE UPDATE ON revisions
BEGIN SELECT RAISE(ABORT, 'revisions are immutable'); END;
CREATE TRIGGER revisions_no_delete BEFORE DELETE ON revisions
BEGIN SELECT RAISE(ABORT, 'revisions are immutable'); END;
CREATE TABLE question_vectors (
    article_id TEXT NOT NULL REFERENCES articles(article_id),
    model TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (article_id, model)
);
CREATE TABLE jobs (
    job_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    filename TEXT NOT NULL,
    path TEXT NOT NULL,
    submitted_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    report TEXT NOT NULL DEFAULT '{}',
    error TEXT NOT NULL DEFAULT ''
)
"""

# 3: conversation threads (issue 7). Each turn keeps the article it answered with, so a
# thread can be shown and resumed; article_id links a turn saved for review.
SQLITE_THREADS = """
CREATE TABLE threads (
    thread_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    audience TEXT NOT NULL,
    condition TEXT NOT NULL,
    owner TEXT NOT NULL DEFAULT ''
);
CREATE INDEX threads_updated ON threads(updated_at);
CREATE TABLE thread_turns (
    thread_id TEXT NOT NULL REFERENCES threads(thread_id),
    turn_index INTEGER NOT NULL,
    asked TEXT NOT NULL,
    resolved TEXT NOT NULL,
    created_at TEXT NOT NULL,
    source TEXT NOT NULL,
    similarity REAL,
    article_id TEXT,
    article_json TEXT NOT NULL,
    suggestions TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (thread_id, turn_index)
)
"""

# 4: the process that runs an ingest job ("host:pid"), so a server starting up can tell a
# job whose server was killed (marked failed, retryable) from one another worker runs.
SQLITE_JOB_RUNNER = """
ALTER TABLE jobs ADD COLUMN runner TEXT NOT NULL DEFAULT ''
"""

# 5: token lifetimes. API tokens expire (api.token_days), web sign-ins are tokens of their
# own (kind 'session', api.session_hours) that signing out revokes; an admin can revoke
# all of a user's tokens. NULL expires_at: never (tokens issued before this migration).
SQLITE_TOKEN_LIFETIMES = """
ALTER TABLE tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'api';
ALTER TABLE tokens ADD COLUMN expires_at TEXT;
ALTER TABLE tokens ADD COLUMN revoked_at TEXT
"""

# 6: tamper evidence. Review events are sealed into a hash chain as they are written (the
# events already there are sealed now), and the database refuses a status change that has
# no review event recording it (store/audit.py). The chain is kept append-only like the log.
SQLITE_AUDIT_CHAIN = """
CREATE TABLE audit_chain (
    event_id INTEGER PRIMARY KEY,
    hash TEXT NOT NULL
);
CREATE TRIGGER audit_chain_no_update BEFORE UPDATE ON audit_chain
BEGIN SELECT RAISE(ABORT, 'the audit chain is append-only'); END;
CREATE TRIGGER audit_chain_no_delete BEFORE DELETE ON audit_chain
BEGIN SELECT RAISE(ABORT, 'the audit chain is append-only'); END;
CREATE TRIGGER articles_status_audited BEFORE UPDATE OF status ON articles
WHEN NEW.status IS NOT OLD.status AND NOT EXISTS (
    SELECT 1 FROM review_events e
    WHERE e.event_id = (SELECT MAX(event_id) FROM review_events WHERE article_id = NEW.article_id)
    AND e.to_status = NEW.status
)
BEGIN SELECT RAISE(ABORT, 'a status change needs the review event that records it'); END
"""

# PostgreSQL, written when the PostgreSQL backend arrived (issue 18): the same tables at
# each version. Differences: "end" is quoted (a reserved word); documents and chunks carry
# a rowid identity column (insertion order, which SQLite's rowid gives); BLOB is BYTEA;
# review_events.event_id is an identity a library copy can set; triggers call PL/pgSQL
# functions and also refuse TRUNCATE.
PG_DOCUMENTS = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE documents (
    document_id TEXT PRIMARY KEY,
    rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    title TEXT NOT NULL,
    kind TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    year INTEGER,
    authors TEXT NOT NULL DEFAULT '[]',
    pmid TEXT,
    doi TEXT,
    url TEXT,
    licence TEXT,
    grade TEXT,
    conditions TEXT NOT NULL DEFAULT '[]',
    kind_inferred INTEGER NOT NULL DEFAULT 0,
    extra TEXT NOT NULL DEFAULT '{}',
    text TEXT NOT NULL,
    format TEXT NOT NULL,
    origin TEXT NOT NULL,
    ingested_at TEXT NOT NULL
);
CREATE INDEX documents_pmid ON documents(pmid);
CREATE INDEX documents_kind ON documents(kind);
CREATE TABLE chunks (
    chunk_id TEXT PRIMARY KEY,
    rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    document_id TEXT NOT NULL REFERENCES documents(document_id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    section TEXT NOT NULL,
    text TEXT NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    sentences TEXT NOT NULL
);
CREATE INDEX chunks_document ON chunks(document_id, ordinal);
CREATE TABLE embeddings (
    chunk_id TEXT NOT NULL REFERENCES chunks(chunk_id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    vector BYTEA NOT NULL,
    PRIMARY KEY (chunk_id, model)
);
CREATE TABLE sources (
    origin TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    document_ids TEXT NOT NULL DEFAULT '[]',
    updated_at TEXT NOT NULL
)
"""

PG_REVIEW = """
CREATE TABLE users (
    user_id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(user_id),
    created_at TEXT NOT NULL
);
CREATE INDEX tokens_user ON tokens(user_id);
CREATE TABLE articles (
    article_id TEXT PRIMARY KEY,
    question TEXT NOT NULL,
    question_key TEXT NOT NULL,
    question_type TEXT NOT NULL,
    audience TEXT NOT NULL,
    condition TEXT NOT NULL,
    status TEXT NOT NULL,
    author TEXT NOT NULL,
    reviewer TEXT,
    revision INTEGER NOT NULL,
    library_version TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    reviewed_at TEXT,
    reviewed_by TEXT,
    published_at TEXT,
    needs_rereview INTEGER NOT NULL DEFAULT 0,
    rereview_reason TEXT NOT NULL DEFAULT '',
    supersedes TEXT,
    superseded_by TEXT
);
CREATE INDEX articles_status ON articles(status);
CREATE TABLE revisions (
    article_id TEXT NOT NULL REFERENCES articles(article_id),
    revision INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    author TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    article_json TEXT NOT NULL,
    PRIMARY KEY (article_id, revision)
);
CREATE TABLE review_events (
    event_id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    article_id TEXT,
    revision INTEGER,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT,
    target TEXT NOT NULL DEFAULT '',
    comment TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX review_events_article ON review_events(article_id, event_id);
CREATE FUNCTION evident_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'integrity_constraint_violation';
END
$$;
CREATE TRIGGER review_events_no_update BEFORE UPDATE ON review_events
FOR EACH ROW EXECUTE FUNCTION evident_refuse('the audit log is append-only');
CREATE TRIGGER review_events_no_delete BEFORE DELETE ON review_events
FOR EACH ROW EXECUTE FUNCTION evident_refuse('the audit log is append-only');
CREATE TRIGGER review_events_no_truncate BEFORE TRUNCATE ON review_events
FOR EACH STATEMENT EXECUTE FUNCTION evident_refuse('the audit log is append-only');
CREATE TRIGGER revisions_no_update BEFORE UPDATE ON revisions
FOR EACH ROW EXECUTE FUNCTION evident_refuse('revisions are immutable');
CREATE TRIGGER revisions_no_delete BEFORE DELETE ON revisions
FOR EACH ROW EXECUTE FUNCTION evident_refuse('revisions are immutable');
CREATE TRIGGER revisions_no_truncate BEFORE TRUNCATE ON revisions
FOR EACH STATEMENT EXECUTE FUNCTION evident_refuse('revisions are immutable');
CREATE TABLE question_vectors (
    article_id TEXT NOT NULL REFERENCES articles(article_id),
    model TEXT NOT NULL,
    vector BYTEA NOT NULL,
    PRIMARY KEY (article_id, model)
);
CREATE TABLE jobs (
    job_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    filename TEXT NOT NULL,
    path TEXT NOT NULL,
    submitted_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    report TEXT NOT NULL DEFAULT '{}',
    error TEXT NOT NULL DEFAULT ''
)
"""

PG_AUDIT_CHAIN = """
CREATE TABLE audit_chain (
    event_id BIGINT PRIMARY KEY,
    hash TEXT NOT NULL
);
CREATE TRIGGER audit_chain_no_update BEFORE UPDATE ON audit_chain
FOR EACH ROW EXECUTE FUNCTION evident_refuse('the audit chain is append-only');
CREATE TRIGGER audit_chain_no_delete BEFORE DELETE ON audit_chain
FOR EACH ROW EXECUTE FUNCTION evident_refuse('the audit chain is append-only');
CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain
FOR EACH STATEMENT EXECUTE FUNCTION evident_refuse('the audit chain is append-only');
CREATE FUNCTION evident_status_audited() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT EXISTS (
        SELECT 1 FROM review_events e
        WHERE e.event_id = (
            SELECT MAX(event_id) FROM review_events WHERE article_id = NEW.article_id
        )
        AND e.to_status = NEW.status
    ) THEN
        RAISE EXCEPTION 'a status change needs the review event that records it'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER articles_status_audited BEFORE UPDATE OF status ON articles
FOR EACH ROW EXECUTE FUNCTION evident_status_audited()
"""

# 7: the change log the search index follows (index/build.py). Every passage added or
# removed, and every vector stored, appends its chunk id; the index records the last seq
# it reflects, so bringing it up to date costs time in proportion to the changes.
SQLITE_INDEX_LOG = """
CREATE TABLE index_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    chunk_id TEXT NOT NULL,
    vector_only INTEGER NOT NULL
);
CREATE TRIGGER chunks_added AFTER INSERT ON chunks BEGIN
    INSERT INTO index_log(chunk_id, vector_only) VALUES (new.chunk_id, 0); END;
CREATE TRIGGER chunks_removed AFTER DELETE ON chunks BEGIN
    INSERT INTO index_log(chunk_id, vector_only) VALUES (old.chunk_id, 0); END;
CREATE TRIGGER embeddings_added AFTER INSERT ON embeddings BEGIN
    INSERT INTO index_log(chunk_id, vector_only) VALUES (new.chunk_id, 1); END
"""

# PostgreSQL also gives embeddings a rowid (the order vectors were stored in).
PG_INDEX_LOG = """
CREATE TABLE index_log (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    chunk_id TEXT NOT NULL,
    vector_only INTEGER NOT NULL
);
ALTER TABLE embeddings ADD COLUMN rowid BIGINT GENERATED ALWAYS AS IDENTITY;
CREATE FUNCTION evident_log_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO index_log(chunk_id, vector_only) VALUES (OLD.chunk_id, TG_ARGV[0]::int);
        RETURN OLD;
    END IF;
    INSERT INTO index_log(chunk_id, vector_only) VALUES (NEW.chunk_id, TG_ARGV[0]::int);
    RETURN NEW;
END
$$;
CREATE TRIGGER chunks_added AFTER INSERT ON chunks
FOR EACH ROW EXECUTE FUNCTION evident_log_change(0);
CREATE TRIGGER chunks_removed AFTER DELETE ON chunks
FOR EACH ROW EXECUTE FUNCTION evident_log_change(0);
CREATE TRIGGER embeddings_added AFTER INSERT ON embeddings
FOR EACH ROW EXECUTE FUNCTION evident_log_change(1)
"""

# 8: refusals. An article that abstained (the library had not enough evidence) is kept for
# its link and the audit log, but it is not a draft to review: the flag keeps it out of the
# review queue and the article listings. Refusals saved before this migration are found in
# their current revision.
SQLITE_REFUSALS = """
ALTER TABLE articles ADD COLUMN abstained INTEGER NOT NULL DEFAULT 0;
UPDATE articles SET abstained = 1 WHERE EXISTS (
    SELECT 1 FROM revisions r WHERE r.article_id = articles.article_id
    AND r.revision = articles.revision AND json_extract(r.article_json, '$.abstained') = 1
)
"""
PG_REFUSALS = """
ALTER TABLE articles ADD COLUMN abstained INTEGER NOT NULL DEFAULT 0;
UPDATE articles SET abstained = 1 WHERE EXISTS (
    SELECT 1 FROM revisions r WHERE r.article_id = articles.article_id
    AND r.revision = articles.revision AND (r.article_json::json ->> 'abstained') = 'true'
)
"""

MIGRATIONS: list[Migration] = [
    Migration(SQLITE_DOCUMENTS, PG_DOCUMENTS),
    Migration(SQLITE_REVIEW, PG_REVIEW),
    Migration(SQLITE_THREADS, SQLITE_THREADS),  # the same SQL on both
    Migration(SQLITE_JOB_RUNNER, SQLITE_JOB_RUNNER),
    Migration(SQLITE_TOKEN_LIFETIMES, SQLITE_TOKEN_LIFETIMES),
    Migration(SQLITE_AUDIT_CHAIN, PG_AUDIT_CHAIN, then=seal_unsealed),
    Migration(SQLITE_INDEX_LOG, PG_INDEX_LOG),
    Migration(SQLITE_REFUSALS, PG_REFUSALS),
]

# Every table a library copy moves, parents before children (the order it fills them in).
# index_log is not copied: the target's triggers log every passage the copy inserts.
TABLES = (
    "meta",
    "documents",
    "chunks",
    "embeddings",
    "sources",
    "users",
    "tokens",
    "articles",
    "revisions",
    "review_events",
    "audit_chain",
    "question_vectors",
    "jobs",
    "threads",
    "thread_turns",
)
