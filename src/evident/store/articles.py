"""Persistence for the review stage: users, tokens, articles, revisions, the audit log, jobs.

It works on the same database, connections and transactions as the library's SqlStore. The audit
log and revisions have no update or delete methods, and triggers in the schema refuse
UPDATE and DELETE on them, so history cannot be rewritten through any interface.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from evident.errors import Conflict, NotFound
from evident.models import Article, ReviewStatus
from evident.protocols import FloatMatrix
from evident.review.records import (
    ArticleRecord,
    Job,
    JobStatus,
    ReviewEvent,
    Revision,
    Role,
    User,
)
from evident.review.serialize import article_from_json, article_to_json
from evident.store.audit import ChainCheck, seal_event, verify_chain
from evident.store.sql import Connection, Row, SqlStore


def now() -> datetime:
    return datetime.now(UTC)


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _user(row: Row) -> User:
    return User(
        row["user_id"], row["name"], Role(row["role"]), datetime.fromisoformat(row["created_at"])
    )


def _record(row: Row) -> ArticleRecord:
    return ArticleRecord(
        article_id=row["article_id"],
        question=row["question"],
        question_key=row["question_key"],
        question_type=row["question_type"],
        audience=row["audience"],
        condition=row["condition"],
        status=ReviewStatus(row["status"]),
        author=row["author"],
        reviewer=row["reviewer"],
        revision=row["revision"],
        library_version=row["library_version"],
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
        reviewed_at=_time(row["reviewed_at"]),
        reviewed_by=row["reviewed_by"],
        published_at=_time(row["published_at"]),
        needs_rereview=bool(row["needs_rereview"]),
        rereview_reason=row["rereview_reason"],
        supersedes=row["supersedes"],
        superseded_by=row["superseded_by"],
        abstained=bool(row["abstained"]),
    )


def _event(row: Row) -> ReviewEvent:
    return ReviewEvent(
        event_id=row["event_id"],
        article_id=row["article_id"],
        revision=row["revision"],
        actor=row["actor"],
        action=row["action"],
        from_status=row["from_status"],
        to_status=row["to_status"],
        target=row["target"],
        comment=row["comment"],
        created_at=datetime.fromisoformat(row["created_at"]),
    )


def _job(row: Row) -> Job:
    return Job(
        job_id=row["job_id"],
        kind=row["kind"],
        status=JobStatus(row["status"]),
        filename=row["filename"],
        path=row["path"],
        submitted_by=row["submitted_by"],
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
        report=json.loads(row["report"]),
        error=row["error"],
        runner=row["runner"],
    )


# Workflow fields that change_record may set; everything else is fixed at creation.
_MUTABLE = {
    "status",
    "reviewer",
    "revision",
    "library_version",
    "updated_at",
    "reviewed_at",
    "reviewed_by",
    "published_at",
    "needs_rereview",
    "rereview_reason",
    "superseded_by",
}


class ArticleStore:
    """Review-stage tables in the library database of a SqlStore."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store

    # -- users and tokens ------------------------------------------------------
    def add_user(self, user: User, token_hash: str, expires_at: datetime | None = None) -> None:
        with self.store.transaction() as tx:
            if tx.execute("SELECT 1 FROM users WHERE name=?", (user.name,)).fetchone():
                raise Conflict(
                    f"a user named {user.name!r} already exists; choose another name or "
                    f"issue them a new token with `evident users token {user.name}`"
                )
            tx.execute(
                "INSERT INTO users(user_id, name, role, created_at) VALUES (?, ?, ?, ?)",
                (user.user_id, user.name, user.role.value, user.created_at.isoformat()),
            )
            tx.execute(
                "INSERT INTO tokens(token_hash, user_id, created_at, expires_at) "
                "VALUES (?, ?, ?, ?)",
                (
                    token_hash,
                    user.user_id,
                    user.created_at.isoformat(),
                    expires_at.isoformat() if expires_at is not None else None,
                ),
            )

    def add_token(
        self,
        user_id: str,
        token_hash: str,
        expires_at: datetime | None = None,
        kind: str = "api",
    ) -> None:
        with self.store.transaction() as tx:
            tx.execute(
                "INSERT INTO tokens(token_hash, user_id, created_at, expires_at, kind) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    token_hash,
                    user_id,
                    now().isoformat(),
                    expires_at.isoformat() if expires_at is not None else None,
                    kind,
                ),
            )

    def revoke_tokens(self, user_id: str, token_hash: str | None = None) -> int:
        """Revoke one token (by hash) or all of a user's live tokens; return how many."""
        sql = "UPDATE tokens SET revoked_at=? WHERE user_id=? AND revoked_at IS NULL"
        args: list[Any] = [now().isoformat(), user_id]
        if token_hash is not None:
            sql += " AND token_hash=?"
            args.append(token_hash)
        with self.store.transaction() as tx:
            return int(tx.execute(sql, args).rowcount)

    def user_by_name(self, name: str) -> User:
        row = self.store.conn.execute("SELECT * FROM users WHERE name=?", (name,)).fetchone()
        if row is None:
            raise NotFound(
                f"no user named {name!r}; run `evident users list` to see users, or "
                f"`evident users create {name} --role ROLE` to add one"
            )
        return _user(row)

    def user_by_token_hash(self, token_hash: str) -> User | None:
        """The user a live token belongs to: None when unknown, revoked or expired."""
        row = self.store.conn.execute(
            "SELECT u.* FROM tokens t JOIN users u ON u.user_id=t.user_id WHERE t.token_hash=? "
            "AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?)",
            (token_hash, now().isoformat()),
        ).fetchone()
        return None if row is None else _user(row)

    def list_users(self) -> list[User]:
        rows = self.store.conn.execute("SELECT * FROM users ORDER BY created_at, name")
        return [_user(r) for r in rows.fetchall()]

    def count_tokens(self, user_id: str) -> int:
        """Count a user's live API tokens (not revoked, not expired, not web sign-ins)."""
        row = self.store.conn.execute(
            "SELECT COUNT(*) FROM tokens WHERE user_id=? AND kind='api' AND revoked_at IS NULL "
            "AND (expires_at IS NULL OR expires_at > ?)",
            (user_id, now().isoformat()),
        )
        return int(row.fetchone()[0])

    # -- articles and revisions ------------------------------------------------
    def add_article(self, record: ArticleRecord, article: Article, note: str) -> None:
        """Insert a new article with its first revision."""
        with self.store.transaction() as tx:
            tx.execute(
                "INSERT INTO articles(article_id, question, question_key, question_type, "
                "audience, condition, status, author, reviewer, revision, library_version, "
                "created_at, updated_at, supersedes, abstained) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.article_id,
                    record.question,
                    record.question_key,
                    record.question_type,
                    record.audience,
                    record.condition,
                    record.status.value,
                    record.author,
                    record.reviewer,
                    record.revision,
                    record.library_version,
                    record.created_at.isoformat(),
                    record.updated_at.isoformat(),
                    record.supersedes,
                    int(record.abstained),
                ),
            )
            self._insert_revision(
                tx, record.article_id, record.revision, record.author, note, article
            )

    def _insert_revision(
        self,
        tx: Connection,
        article_id: str,
        revision: int,
        author: str,
        note: str,
        article: Article,
    ) -> None:
        tx.execute(
            "INSERT INTO revisions(article_id, revision, created_at, author, note, article_json) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                article_id,
                revision,
                now().isoformat(),
                author,
                note,
                json.dumps(article_to_json(article), ensure_ascii=False),
            ),
        )

    def add_revision(
        self,
        article_id: str,
        expected: int,
        author: str,
        note: str,
        article: Article,
        *,
        expect_status: ReviewStatus | None = None,
        event: dict[str, Any] | None = None,
    ) -> int:
        """Append a revision after `expected`, with its audit event, in one transaction.

        Refused if someone else revised the article meanwhile, or (with expect_status) if
        its status changed since the caller read it: an edit racing an approval must never
        change the approved text.
        """
        with self.store.transaction() as tx:
            record = self.get_record(article_id)
            if record.revision != expected:
                raise Conflict(
                    f"article {article_id} was revised meanwhile (now revision "
                    f"{record.revision}, you edited revision {expected}); reload it and retry"
                )
            if expect_status is not None and record.status is not expect_status:
                raise Conflict(
                    f"article {article_id} changed meanwhile: it is now "
                    f"{record.status.value}; reload it and retry"
                )
            number = expected + 1
            self._insert_revision(tx, record.article_id, number, author, note, article)
            tx.execute(
                "UPDATE articles SET revision=?, library_version=?, updated_at=? "
                "WHERE article_id=?",
                (number, article.library_version, now().isoformat(), record.article_id),
            )
            if event is not None:
                self.append_event(article_id=record.article_id, revision=number, **event)
            return number

    def get_record(self, article_id: str, *, exact: bool = False) -> ArticleRecord:
        """Return an article's record by id, or by a unique id prefix unless exact.

        Front ends pass exact=True for anonymous callers: a visitor's draft is reachable by
        its link alone, so a prefix must never find it.
        """
        conn = self.store.conn
        row = conn.execute("SELECT * FROM articles WHERE article_id=?", (article_id,)).fetchone()
        if row is None and exact:
            raise NotFound(
                f"no article {article_id!r}; run `evident articles list` to see article ids"
            )
        if row is None:
            rows = conn.execute(
                "SELECT * FROM articles WHERE article_id LIKE ? LIMIT 2", (article_id + "%",)
            ).fetchall()
            if len(rows) != 1 or not article_id:
                raise NotFound(
                    f"no article {article_id!r}; run `evident articles list` to see article ids"
                )
            row = rows[0]
        return _record(row)

    def list_records(
        self,
        statuses: Sequence[ReviewStatus] | None = None,
        author: str | None = None,
        needs_rereview: bool | None = None,
        limit: int = 100,
        offset: int = 0,
        abstained: bool | None = False,
    ) -> list[ArticleRecord]:
        """List saved articles, most recently changed first.

        Args:
            abstained: False (the default) leaves refusals out, True lists only them,
                None lists both.
        """
        sql = "SELECT * FROM articles WHERE 1=1"
        args: list[Any] = []
        if abstained is not None:
            sql += " AND abstained=?"
            args.append(int(abstained))
        if statuses is not None:
            sql += f" AND status IN ({', '.join('?' * len(statuses))})"
            args += [s.value for s in statuses]
        if author is not None:
            sql += " AND author=?"
            args.append(author)
        if needs_rereview is not None:
            sql += " AND needs_rereview=?"
            args.append(int(needs_rereview))
        sql += " ORDER BY updated_at DESC, article_id LIMIT ? OFFSET ?"
        args += [limit, offset]
        return [_record(r) for r in self.store.conn.execute(sql, args).fetchall()]

    def get_revision(self, article_id: str, revision: int | None = None) -> Revision:
        record = self.get_record(article_id)
        number = record.revision if revision is None else revision
        row = self.store.conn.execute(
            "SELECT * FROM revisions WHERE article_id=? AND revision=?",
            (record.article_id, number),
        ).fetchone()
        if row is None:
            raise NotFound(
                f"article {record.article_id} has no revision {number}; it has revisions "
                f"1 to {record.revision}"
            )
        return self._revision(row)

    def _revision(self, row: Row) -> Revision:
        return Revision(
            article_id=row["article_id"],
            revision=row["revision"],
            created_at=datetime.fromisoformat(row["created_at"]),
            author=row["author"],
            note=row["note"],
            article=article_from_json(json.loads(row["article_json"])),
        )

    def list_revisions(self, article_id: str) -> list[Revision]:
        record = self.get_record(article_id)
        rows = self.store.conn.execute(
            "SELECT * FROM revisions WHERE article_id=? ORDER BY revision", (record.article_id,)
        ).fetchall()
        return [self._revision(r) for r in rows]

    def change_record(
        self,
        article_id: str,
        event: dict[str, Any] | None = None,
        expect_status: ReviewStatus | None = None,
        expect_revision: int | None = None,
        **fields: Any,
    ) -> ArticleRecord:
        """Update workflow fields and append the audit event, in one transaction.

        expect_status and expect_revision guard against races: the change is refused if
        another request moved the article on, or revised its text, since the caller read it.
        """
        unknown = set(fields) - _MUTABLE
        assert not unknown, f"not a mutable article field: {unknown}"
        with self.store.transaction() as tx:
            record = self.get_record(article_id)
            if expect_status is not None and record.status is not expect_status:
                raise Conflict(
                    f"article {article_id} changed meanwhile: it is now "
                    f"{record.status.value}; reload it and retry"
                )
            if expect_revision is not None and record.revision != expect_revision:
                raise Conflict(
                    f"article {article_id} was revised meanwhile (now revision "
                    f"{record.revision}, you read revision {expect_revision}); reload it, "
                    "read the changes and retry"
                )
            values = {k: (v.value if isinstance(v, ReviewStatus) else v) for k, v in fields.items()}
            values = {
                k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in values.items()
            }
            # The event first: the database refuses a status change no event records.
            if event is not None:
                self.append_event(article_id=record.article_id, **event)
            if values:
                assignments = ", ".join(f"{k}=?" for k in values)
                tx.execute(
                    f"UPDATE articles SET {assignments} WHERE article_id=?",
                    (*values.values(), record.article_id),
                )
            return self.get_record(record.article_id)

    # -- audit log -----------------------------------------------------------------
    def append_event(
        self,
        *,
        actor: str,
        action: str,
        article_id: str | None = None,
        revision: int | None = None,
        from_status: str | None = None,
        to_status: str | None = None,
        target: str = "",
        comment: str = "",
    ) -> int:
        with self.store.transaction() as tx:
            cur = tx.execute(
                "INSERT INTO review_events(article_id, revision, actor, action, from_status, "
                "to_status, target, comment, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "RETURNING event_id",
                (
                    article_id,
                    revision,
                    actor,
                    action,
                    from_status,
                    to_status,
                    target,
                    comment,
                    now().isoformat(),
                ),
            )
            event_id = int(cur.fetchone()[0])
            seal_event(tx, event_id)
            return event_id

    def verify_audit(self) -> ChainCheck:
        """Check the audit log against its hash chain (see store/audit.py)."""
        return verify_chain(self.store.conn)

    def events(self, article_id: str | None = None) -> list[ReviewEvent]:
        if article_id is None:
            rows = self.store.conn.execute("SELECT * FROM review_events ORDER BY event_id")
        else:
            rows = self.store.conn.execute(
                "SELECT * FROM review_events WHERE article_id=? ORDER BY event_id", (article_id,)
            )
        return [_event(r) for r in rows.fetchall()]

    # -- question vectors (matching published articles) -----------------------------
    def put_question_vector(self, article_id: str, model: str, vector: FloatMatrix) -> None:
        with self.store.transaction() as tx:
            tx.execute(
                "INSERT INTO question_vectors(article_id, model, vector) VALUES (?, ?, ?) "
                "ON CONFLICT(article_id, model) DO UPDATE SET vector=excluded.vector",
                (article_id, model, np.asarray(vector, dtype=np.float32).tobytes()),
            )

    def question_vectors(self, article_ids: Sequence[str], model: str) -> dict[str, FloatMatrix]:
        out: dict[str, FloatMatrix] = {}
        if not article_ids:
            return out
        rows = self.store.conn.execute(
            f"SELECT article_id, vector FROM question_vectors WHERE model=? AND article_id IN "
            f"({', '.join('?' * len(article_ids))})",
            (model, *article_ids),
        ).fetchall()
        for row in rows:
            out[row["article_id"]] = np.frombuffer(row["vector"], dtype=np.float32)
        return out

    # -- documents, for staleness ----------------------------------------------------
    def guidelines_since(self, since: datetime) -> list[tuple[str, str, list[str]]]:
        """Return (document_id, title, conditions) of guidelines ingested after `since`."""
        rows = self.store.conn.execute(
            "SELECT document_id, title, conditions FROM documents "
            "WHERE kind='guideline' AND ingested_at > ? ORDER BY ingested_at",
            (since.isoformat(),),
        ).fetchall()
        return [
            (r["document_id"], r["title"], [str(c) for c in json.loads(r["conditions"] or "[]")])
            for r in rows
        ]

    # -- jobs --------------------------------------------------------------------------
    def add_job(self, job: Job) -> None:
        with self.store.transaction() as tx:
            tx.execute(
                "INSERT INTO jobs(job_id, kind, status, filename, path, submitted_by, "
                "created_at, updated_at, report, error, runner) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job.job_id,
                    job.kind,
                    job.status.value,
                    job.filename,
                    job.path,
                    job.submitted_by,
                    job.created_at.isoformat(),
                    job.updated_at.isoformat(),
                    json.dumps(job.report),
                    job.error,
                    job.runner,
                ),
            )

    def update_job(
        self,
        job_id: str,
        status: JobStatus,
        report: dict[str, Any] | None = None,
        error: str = "",
    ) -> None:
        with self.store.transaction() as tx:
            tx.execute(
                "UPDATE jobs SET status=?, report=?, error=?, updated_at=? WHERE job_id=?",
                (status.value, json.dumps(report or {}), error, now().isoformat(), job_id),
            )

    def unfinished_jobs(self) -> list[Job]:
        """Jobs queued or running, oldest first."""
        rows = self.store.conn.execute(
            "SELECT * FROM jobs WHERE status IN ('queued', 'running') ORDER BY created_at"
        ).fetchall()
        return [_job(r) for r in rows]

    def move_job(
        self, job: Job, status: JobStatus, *, error: str = "", runner: str | None = None
    ) -> bool:
        """Move a job on from the status and runner it had when read; False if another
        process moved it first."""
        with self.store.transaction() as tx:
            cursor = tx.execute(
                "UPDATE jobs SET status=?, error=?, runner=?, updated_at=? "
                "WHERE job_id=? AND status=? AND runner=?",
                (
                    status.value,
                    error,
                    job.runner if runner is None else runner,
                    now().isoformat(),
                    job.job_id,
                    job.status.value,
                    job.runner,
                ),
            )
            return cursor.rowcount == 1

    def get_job(self, job_id: str) -> Job:
        row = self.store.conn.execute("SELECT * FROM jobs WHERE job_id=?", (job_id,)).fetchone()
        if row is None:
            raise NotFound(f"no ingest job {job_id!r}; the id is returned by the upload")
        return _job(row)

    def list_jobs(self, limit: int = 50) -> list[Job]:
        """Return the most recent ingest jobs, newest first."""
        rows = self.store.conn.execute(
            "SELECT * FROM jobs ORDER BY created_at DESC, job_id LIMIT ?", (limit,)
        ).fetchall()
        return [_job(r) for r in rows]
