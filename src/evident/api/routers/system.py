"""Health, ask and search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from evident import __version__
from evident.api.deps import AppDep, UserDep
from evident.api.schemas import (
    ERRORS,
    AnswerPublic,
    AskRequest,
    Health,
    HitPublic,
    SearchPublic,
)
from evident.models import ReviewStatus

router = APIRouter(responses=ERRORS)


@router.get("/health", tags=["system"])
def health(app: AppDep) -> Health:
    """Report that the server is up, with the library's size and version (no auth needed)."""
    return Health(
        ok=True,
        version=__version__,
        documents=app.store.count_documents(),
        passages=app.store.count_chunks(),
        library_version=app.store.library_version(),
        published_articles=len(app.articles.list_records([ReviewStatus.PUBLISHED], limit=100_000)),
        public=app.settings.api.public,
    )


@router.post("/ask", tags=["ask"])
def ask(body: AskRequest, app: AppDep, user: UserDep) -> AnswerPublic:
    """Answer a question: the matching published article, else a freshly composed one."""
    answer = app.answer(body.question, body.audience, fresh=body.fresh, save=body.save, user=user)
    return AnswerPublic.of(answer)


@router.get("/search", tags=["ask"])
def search(
    app: AppDep,
    user: UserDep,
    q: Annotated[str, Query(min_length=1, max_length=2000, description="Question or keywords.")],
    k: Annotated[int, Query(ge=1, le=100, description="How many passages.")] = 10,
) -> SearchPublic:
    """Return the passages that best answer a question (chunk ids to cite in edits)."""
    return SearchPublic(query=q, hits=[HitPublic.of(h) for h in app.search(q, k=k)])
