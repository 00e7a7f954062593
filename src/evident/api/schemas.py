"""Request and response schemas. Requests are converted to domain types at once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from evident.compose.render import STATUS_LABEL, to_json
from evident.models import Audience, Hit, ReviewStatus
from evident.review.records import (
    Answer,
    ArticleRecord,
    Job,
    ReviewEvent,
    Revision,
    Role,
    User,
)
from evident.review.workflow import CitationSpec, StatementEdit


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorPublic(Schema):
    """Every error response has this shape."""

    ok: bool = Field(False, description="Always false for errors.")
    error: str = Field(description="One line saying what went wrong and what to do.")
    errors: list[Any] = Field(default_factory=list, description="Details (validation errors).")
    status: int = Field(description="The HTTP status, repeated.")


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorPublic, "description": text}
    for status, text in {
        400: "Invalid input",
        401: "Missing or invalid bearer token (and the server is not public)",
        403: "The user's role does not allow this",
        404: "Not found, or not visible to this user",
        409: "The action does not fit the article's state",
        422: "Request validation failed",
    }.items()
}


# -- ask and search ---------------------------------------------------------------------
class AskRequest(Schema):
    question: str = Field(min_length=1, max_length=2000, description="A clinical question.")
    audience: Audience = Field(Audience.PHYSICIAN, description="Who the answer is for.")
    fresh: bool = Field(False, description="Compose anew even if a published article matches.")
    save: bool = Field(False, description="Save a fresh answer as a draft (authors and up).")


class ArticleInfo(Schema):
    """A saved article's workflow state."""

    article_id: str
    question: str
    audience: str
    status: ReviewStatus
    status_label: str
    author: str
    reviewer: str | None = Field(description="The reviewer who claimed it.")
    revision: int = Field(description="The current revision number.")
    library_version: str = Field(description="The library version it was generated from.")
    created_at: datetime
    updated_at: datetime = Field(description="Last updated.")
    reviewed_at: datetime | None
    reviewed_by: str | None
    published_at: datetime | None
    needs_rereview: bool
    rereview_reason: str
    supersedes: str | None
    superseded_by: str | None
    abstained: bool = Field(
        description="A refusal: the library had not enough evidence; never reviewed."
    )

    @classmethod
    def of(cls, r: ArticleRecord) -> ArticleInfo:
        return cls(
            article_id=r.article_id,
            question=r.question,
            audience=r.audience,
            status=r.status,
            status_label=STATUS_LABEL[r.status],
            author=r.author,
            reviewer=r.reviewer,
            revision=r.revision,
            library_version=r.library_version,
            created_at=r.created_at,
            updated_at=r.updated_at,
            reviewed_at=r.reviewed_at,
            reviewed_by=r.reviewed_by,
            published_at=r.published_at,
            needs_rereview=r.needs_rereview,
            rereview_reason=r.rereview_reason,
            supersedes=r.supersedes,
            superseded_by=r.superseded_by,
            abstained=r.abstained,
        )


class AnswerPublic(Schema):
    source: str = Field(description='"published" (a reviewed article) or "fresh".')
    similarity: float | None = Field(description="Question match, for published answers.")
    info: ArticleInfo | None = Field(description="The saved article, if any.")
    article: dict[str, Any] = Field(description="The article (schema evident.article/1).")

    @classmethod
    def of(cls, answer: Answer) -> AnswerPublic:
        return cls(
            source=answer.source,
            similarity=answer.similarity,
            info=ArticleInfo.of(answer.record) if answer.record is not None else None,
            article=to_json(answer.article),
        )


class HitPublic(Schema):
    chunk_id: str
    document_id: str
    title: str
    kind: str
    year: int | None
    source: str
    section: str
    text: str
    start: int = Field(description="Passage offset in its document.")
    score: float
    ranks: dict[str, int]

    @classmethod
    def of(cls, hit: Hit) -> HitPublic:
        return cls(
            chunk_id=hit.chunk.chunk_id,
            document_id=hit.document_id,
            title=hit.document.title,
            kind=hit.document.kind.value,
            year=hit.document.year,
            source=hit.document.source,
            section=hit.chunk.section,
            text=hit.chunk.text,
            start=hit.chunk.start,
            score=hit.score,
            ranks=hit.ranks,
        )


class SearchPublic(Schema):
    query: str
    hits: list[HitPublic]


# -- articles ------------------------------------------------------------------------
class ArticlePublic(Schema):
    info: ArticleInfo
    article: dict[str, Any] = Field(description="The article (schema evident.article/1).")
    markdown: str | None = Field(None, description="Rendered Markdown, when asked for.")


class ArticleList(Schema):
    items: list[ArticleInfo]
    count: int


class RevisionInfo(Schema):
    revision: int
    created_at: datetime
    author: str
    note: str

    @classmethod
    def of(cls, r: Revision) -> RevisionInfo:
        return cls(revision=r.revision, created_at=r.created_at, author=r.author, note=r.note)


class RevisionPublic(Schema):
    info: RevisionInfo
    article: dict[str, Any]


class RevisionList(Schema):
    article_id: str
    items: list[RevisionInfo]


class DiffPublic(Schema):
    article_id: str
    from_revision: int
    to_revision: int
    diff: str = Field(description="Unified diff of the rendered Markdown.")


class EventPublic(Schema):
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

    @classmethod
    def of(cls, e: ReviewEvent) -> EventPublic:
        return cls(
            event_id=e.event_id,
            article_id=e.article_id,
            revision=e.revision,
            actor=e.actor,
            action=e.action,
            from_status=e.from_status,
            to_status=e.to_status,
            target=e.target,
            comment=e.comment,
            created_at=e.created_at,
        )


class EventList(Schema):
    items: list[EventPublic]


# -- review --------------------------------------------------------------------------------
class ActionRequest(Schema):
    comment: str = Field("", max_length=5000, description="Why (required to reject, "
                         "request changes or retract).")  # fmt: skip
    revision: int | None = Field(
        None,
        ge=1,
        description="The revision you read; the action is refused with 409 if the article "
        "was revised since. Send it to approve or publish exactly what you read.",
    )


class CommentRequest(Schema):
    comment: str = Field(min_length=1, max_length=5000)
    target: str = Field("", description='A statement ("b1", "s2.3") or section ("s2").')


class CitationIn(Schema):
    chunk_id: str = Field(description="A library passage id.")
    start: int = Field(ge=0, description="Span start in the passage text.")
    end: int = Field(gt=0, description="Span end in the passage text.")
    quote: str | None = Field(
        None, description="If given, must equal the passage text at the span."
    )

    def to_domain(self) -> CitationSpec:
        return CitationSpec(self.chunk_id, self.start, self.end, self.quote)


class EditRequest(Schema):
    target: str = Field(description='"b1"/"s2.3" to change or delete; "b"/"s2" to add.')
    text: str | None = Field(None, max_length=5000, description="New statement text.")
    add_citations: list[CitationIn] = Field(default_factory=list)
    remove_citations: list[int] = Field(
        default_factory=list, description="1-based positions of citations to remove."
    )
    delete: bool = Field(False, description="Remove the statement.")
    note: str = Field("", max_length=2000, description="The change note for the revision.")

    def to_domain(self) -> StatementEdit:
        return StatementEdit(
            target=self.target,
            text=self.text,
            add_citations=tuple(c.to_domain() for c in self.add_citations),
            remove_citations=tuple(self.remove_citations),
            delete=self.delete,
        )


class CommentPublic(Schema):
    event_id: int


class StalePublic(Schema):
    flagged: list[ArticleInfo]


# -- documents and jobs ----------------------------------------------------------------------
class JobPublic(Schema):
    job_id: str
    status: str = Field(description="queued, running, done or failed.")
    filename: str
    submitted_by: str
    created_at: datetime
    updated_at: datetime
    report: dict[str, Any] = Field(description="Ingest counts and per-document results.")
    error: str

    @classmethod
    def of(cls, job: Job) -> JobPublic:
        return cls(
            job_id=job.job_id,
            status=job.status.value,
            filename=job.filename,
            submitted_by=job.submitted_by,
            created_at=job.created_at,
            updated_at=job.updated_at,
            report=job.report,
            error=job.error,
        )


class DocumentInfo(Schema):
    document_id: str
    title: str
    kind: str
    year: int | None
    source: str
    passages: int


class DocumentList(Schema):
    items: list[DocumentInfo]
    count: int = Field(description="Documents in the library.")
    library_version: str


# -- users and system -----------------------------------------------------------------------------
class UserCreate(Schema):
    name: str = Field(min_length=1, max_length=64)
    role: Role = Field(Role.READER)


class UserPublic(Schema):
    name: str
    role: Role
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserPublic:
        return cls(name=user.name, role=user.role, created_at=user.created_at)


class UserList(Schema):
    items: list[UserPublic]


class TokenPublic(Schema):
    user: UserPublic
    token: str = Field(description="Shown once; only its hash is stored.")


class Health(Schema):
    ok: bool
    version: str
    documents: int
    passages: int
    library_version: str
    published_articles: int
    public: bool = Field(description="Whether unauthenticated visitors may read.")
