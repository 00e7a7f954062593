"""Schema migrations, applied in order; PRAGMA user_version records how many ran.

Append new scripts; never edit one that has shipped. A migration is SQL, or a function
run on the connection inside the migration's transaction when it must compute something.
"""

import sqlite3
from collections.abc import Callable

from evident.store.audit import migrate_chain

MIGRATIONS: list[str | Callable[[sqlite3.Connection], None]] = [
    """
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
""",
]

# Migration 2: editorial review. Users and hashed API tokens; articles with immutable
# revisions; an append-only audit log (triggers refuse UPDATE and DELETE, so no interface
# can rewrite history); question vectors for matching published articles; ingest jobs.
MIGRATIONS.append(
    """
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
)

# 3: conversation threads (issue 7). Each turn keeps the article it answered with, so a
# thread can be shown and resumed; article_id links a turn saved for review.
MIGRATIONS.append(
    """
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
)

# 4: the process that runs an ingest job ("host:pid"), so a server starting up can tell a
# job whose server was killed (marked failed, retryable) from one another worker runs.
MIGRATIONS.append(
    """
ALTER TABLE jobs ADD COLUMN runner TEXT NOT NULL DEFAULT ''
"""
)

# 5: token lifetimes. API tokens expire (api.token_days), web sign-ins are tokens of their
# own (kind 'session', api.session_hours) that signing out revokes; an admin can revoke
# all of a user's tokens. NULL expires_at: never (tokens issued before this migration).
MIGRATIONS.append(
    """
ALTER TABLE tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'api';
ALTER TABLE tokens ADD COLUMN expires_at TEXT;
ALTER TABLE tokens ADD COLUMN revoked_at TEXT
"""
)

# 6: tamper evidence. Review events are sealed into a hash chain as they are written (the
# events already there are sealed now), and the database refuses a status change that has
# no review event recording it (store/audit.py).
MIGRATIONS.append(migrate_chain)

# 7: the change log the search index follows (index/build.py). Every passage added or
# removed, and every vector stored, appends its chunk id; the index records the last seq
# it reflects, so bringing it up to date costs time in proportion to the changes.
MIGRATIONS.append(
    """
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
)
