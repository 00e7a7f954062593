"""Articles: list, read, revisions, diff, history; and the review actions on them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from evident.api.deps import AppDep, UserDep
from evident.api.schemas import (
    ERRORS,
    ActionRequest,
    ArticleInfo,
    ArticleList,
    ArticlePublic,
    CommentPublic,
    CommentRequest,
    DiffPublic,
    EditRequest,
    EventList,
    EventPublic,
    RevisionInfo,
    RevisionList,
    RevisionPublic,
    StalePublic,
)
from evident.compose.render import to_json, to_markdown
from evident.models import ReviewStatus
from evident.review.workflow import TRANSITIONS

router = APIRouter(prefix="/articles", tags=["articles"], responses=ERRORS)
review = APIRouter(prefix="/review", tags=["review"], responses=ERRORS)


@router.get("")
def list_articles(
    app: AppDep,
    user: UserDep,
    status: Annotated[list[ReviewStatus] | None, Query(description="Only these states.")] = None,
    needs_rereview: Annotated[
        bool | None, Query(description="Only flagged (or unflagged).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    abstained: Annotated[
        bool,
        Query(
            description="Refusals (questions the library had not enough evidence for) are "
            "not articles to review and are left out; true lists only them."
        ),
    ] = False,
) -> ArticleList:
    """List the articles the caller may see (readers: published only), newest first."""
    records = app.editorial.list_articles(
        user, status, needs_rereview, limit, offset, abstained=abstained
    )
    return ArticleList(items=[ArticleInfo.of(r) for r in records], count=len(records))


@router.get("/{article_id}")
def get_article(
    article_id: str,
    app: AppDep,
    user: UserDep,
    markdown: Annotated[bool, Query(description="Include the rendered Markdown.")] = False,
) -> ArticlePublic:
    """Return an article's current revision and its workflow state."""
    stored = app.editorial.get(article_id, user)
    return ArticlePublic(
        info=ArticleInfo.of(stored.record),
        article=to_json(stored.article),
        markdown=to_markdown(stored.article) if markdown else None,
    )


@router.get("/{article_id}/revisions")
def list_revisions(article_id: str, app: AppDep, user: UserDep) -> RevisionList:
    """List an article's revisions: number, time, author and change note."""
    revisions = app.editorial.revisions(article_id, user)
    return RevisionList(
        article_id=revisions[0].article_id, items=[RevisionInfo.of(r) for r in revisions]
    )


@router.get("/{article_id}/revisions/{revision}")
def get_revision(article_id: str, revision: int, app: AppDep, user: UserDep) -> RevisionPublic:
    """Return one revision of an article."""
    stored = app.editorial.get(article_id, user, revision)
    found = app.articles.get_revision(stored.record.article_id, revision)
    return RevisionPublic(info=RevisionInfo.of(found), article=to_json(stored.article))


@router.get("/{article_id}/diff")
def diff(
    article_id: str,
    app: AppDep,
    user: UserDep,
    from_revision: Annotated[int | None, Query(alias="from", ge=1)] = None,
    to_revision: Annotated[int | None, Query(alias="to", ge=1)] = None,
) -> DiffPublic:
    """Unified diff of two revisions' Markdown (default: the previous and the current)."""
    record = app.editorial.record(article_id, user)
    new = to_revision or record.revision
    old = from_revision or new - 1
    text = app.editorial.diff(record.article_id, user, old, new)
    return DiffPublic(article_id=record.article_id, from_revision=old, to_revision=new, diff=text)


@router.get("/{article_id}/events")
def events(article_id: str, app: AppDep, user: UserDep) -> EventList:
    """The article's audit log: every action, who took it, when, and their comment."""
    return EventList(items=[EventPublic.of(e) for e in app.editorial.history(article_id, user)])


@router.post("/{article_id}/comments", status_code=201)
def comment(article_id: str, body: CommentRequest, app: AppDep, user: UserDep) -> CommentPublic:
    """Comment on the article, or on one statement ("b1", "s2.3") or section ("s2")."""
    return CommentPublic(
        event_id=app.editorial.comment(article_id, user, body.comment, body.target)
    )


@router.post("/{article_id}/edits", status_code=201)
def edit(article_id: str, body: EditRequest, app: AppDep, user: UserDep) -> RevisionPublic:
    """Edit, add or delete a statement, creating a new revision. Added citations must be
    spans of library passages; the edited statement is re-verified, and an edit its
    citations do not support is refused with the score and the threshold."""
    revision = app.editorial.edit(article_id, user, body.to_domain(), body.note)
    return RevisionPublic(info=RevisionInfo.of(revision), article=to_json(revision.article))


@router.post("/{article_id}/revise", status_code=201)
def revise(article_id: str, body: ActionRequest, app: AppDep, user: UserDep) -> ArticleInfo:
    """Start a new draft from an approved or published article; publishing the draft later
    supersedes the original."""
    return ArticleInfo.of(app.editorial.revise(article_id, user, body.comment))


def _action_route(action: str) -> None:
    step = TRANSITIONS[action]

    def take(article_id: str, body: ActionRequest, app: AppDep, user: UserDep) -> ArticleInfo:
        return ArticleInfo.of(
            app.editorial.act(action, article_id, user, body.comment, body.revision)
        )

    who = {
        "author": "its author or an editor",
        "other": "a reviewer other than its author",
        "claimant": "the reviewer who claimed it",
        "any": f"a user with the {step.role.value} role or higher",
    }[step.who]
    take.__doc__ = (
        f"Move an article from {' or '.join(sorted(s.value for s in step.sources))} to "
        f"{step.target.value}; allowed to {who}"
        + ("; a comment is required." if step.needs_comment else ".")
    )
    path = action.replace("_", "-")
    router.post(f"/{{article_id}}/{path}", name=action, operation_id=f"{action}_article")(take)


for _action in TRANSITIONS:
    _action_route(_action)


@review.get("/queue")
def queue(app: AppDep, user: UserDep) -> ArticleList:
    """Articles waiting for review (submitted or under review), oldest first."""
    records = app.editorial.queue(user)
    return ArticleList(items=[ArticleInfo.of(r) for r in records], count=len(records))


@review.post("/stale")
def stale(app: AppDep, user: UserDep) -> StalePublic:
    """Flag articles whose cited documents changed or whose condition has new guidelines."""
    flagged = app.editorial.check_stale(user)
    return StalePublic(flagged=[ArticleInfo.of(r) for r, _ in flagged])
