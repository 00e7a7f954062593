"""Schema migrations, applied in order; PRAGMA user_version records how many ran.

Append new scripts; never edit one that has shipped.
"""

MIGRATIONS: list[str] = [
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
