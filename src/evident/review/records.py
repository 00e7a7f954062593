"""Domain types of the review stage: users, stored articles, revisions, audit events, jobs.

They live here rather than in models.py because only the review stage, the store module
that persists them and the front ends use them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from evident.models import Article, ReviewStatus


class Role(StrEnum):
    """What a user may do; each role can do everything the roles before it can."""

    READER = "reader"
    AUTHOR = "author"
    REVIEWER = "reviewer"
    EDITOR = "editor"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


@dataclass(frozen=True, slots=True)
class User:
    """A person who reads, writes or reviews articles. Tokens are stored hashed elsewhere."""

    user_id: str
    name: str
    role: Role
    created_at: datetime


ANONYMOUS = User(user_id="", name="anonymous", role=Role.READER, created_at=datetime.min)


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ArticleRecord:
    """A saved article's workflow state (the text itself is in its revisions).

    question_key: the question folded for exact matching (case and spacing removed).
    reviewer: the reviewer who claimed the article, while it is under review.
    reviewed_by, reviewed_at: who approved (or rejected) it, and when.
    library_version: the library version the current revision was generated from.
    needs_rereview: set when cited documents changed or new guidelines arrived; see reason.
    abstained: the article is a refusal (not enough evidence), kept for its link and the
        audit log but never a draft to review.
    """

    article_id: str
    question: str
    question_key: str
    question_type: str
    audience: str
    condition: str
    status: ReviewStatus
    author: str
    reviewer: str | None
    revision: int
    library_version: str
    created_at: datetime
    updated_at: datetime
    reviewed_at: datetime | None = None
    reviewed_by: str | None = None
    published_at: datetime | None = None
    needs_rereview: bool = False
    rereview_reason: str = ""
    supersedes: str | None = None
    superseded_by: str | None = None
    abstained: bool = False


@dataclass(frozen=True, slots=True)
class Revision:
    """One immutable version of an article's text, with who made it and why."""

    article_id: str
    revision: int
    created_at: datetime
    author: str
    note: str
    article: Article


@dataclass(frozen=True, slots=True)
class ReviewEvent:
    """One row of the append-only audit log.

    target: the statement or section a comment or edit is about ("b1", "s2.3", "s2").
    """

    event_id: int
    article_id: str | None
    revision: int | None
    actor: str
    action: str
    from_status: str | None
    to_status: str | None
    target: str
    comment: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Job:
    """A background ingest of an uploaded file. report holds the ingest results when done."""

    job_id: str
    kind: str
    status: JobStatus
    filename: str
    path: str
    submitted_by: str
    created_at: datetime
    updated_at: datetime
    report: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    runner: str = ""  # "host:pid" of the process that queued or runs it


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """A saved article: its workflow record and its current revision's text."""

    record: ArticleRecord
    article: Article


@dataclass(frozen=True, slots=True)
class Answer:
    """What asking returns: a fresh article, or a published one that matches the question.

    source: "published" when a reviewed article was returned, "fresh" when composed now.
    similarity: how closely the question matched the published article's question.
    saved: the record when the fresh article was saved as a draft.
    """

    article: Article
    source: str
    record: ArticleRecord | None = None
    similarity: float | None = None
