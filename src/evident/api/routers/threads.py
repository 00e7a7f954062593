"""Conversation threads: a question and follow-ups, each answered by its own article."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from evident.api.deps import AppDep, UserDep
from evident.api.schemas import ERRORS, AnswerPublic, ArticleInfo, Schema
from evident.models import Audience
from evident.review.records import ANONYMOUS
from evident.review.threads import Thread, Turn

router = APIRouter(prefix="/threads", tags=["threads"], responses=ERRORS)


class ThreadStart(Schema):
    question: str = Field(min_length=1, max_length=2000, description="The first question.")
    audience: Audience = Field(Audience.PHYSICIAN, description="Who the answers are for.")
    save: bool = Field(False, description="Save each fresh answer as a draft (authors and up).")


class TurnRequest(Schema):
    question: str = Field(
        min_length=1,
        max_length=2000,
        description='A follow-up ("What if there is infection?") or a whole question.',
    )
    save: bool = Field(False, description="Save a fresh answer as a draft (authors and up).")


class TurnPublic(Schema):
    thread_id: str
    index: int = Field(description="1 for the thread's first question.")
    asked: str = Field(description="What the user typed.")
    resolved: str = Field(
        description="The whole question that was answered; show it so the user can correct it."
    )
    source: str = Field(description='"published" (a reviewed article) or "fresh".')
    similarity: float | None = Field(description="Question match, for published answers.")
    info: ArticleInfo | None = Field(description="The saved article, if any (it can be reviewed).")
    article: dict[str, Any] = Field(description="The article (schema evident.article/1).")
    suggestions: list[str] = Field(
        description="Up to three follow-ups the library can answer (each was checked)."
    )

    @classmethod
    def of(cls, turn: Turn) -> TurnPublic:
        return cls(
            thread_id=turn.thread_id,
            index=turn.index,
            asked=turn.asked,
            resolved=turn.resolved,
            **dict(AnswerPublic.of(turn.answer)),
            suggestions=list(turn.suggestions),
        )


class ThreadPublic(Schema):
    thread_id: str
    created_at: datetime
    updated_at: datetime
    audience: Audience
    condition: str = Field(description="The condition of the thread's first answer.")
    owner: str = Field(description='Who started it ("" when anonymous).')
    turns: list[TurnPublic]

    @classmethod
    def of(cls, thread: Thread) -> ThreadPublic:
        return cls(
            thread_id=thread.thread_id,
            created_at=thread.created_at,
            updated_at=thread.updated_at,
            audience=thread.audience,
            condition=thread.condition,
            owner=thread.owner,
            turns=[TurnPublic.of(t) for t in thread.turns],
        )


class ThreadList(Schema):
    items: list[ThreadPublic] = Field(description="Threads without their turns, newest first.")


def _owner(user: Any) -> Any:
    return None if user is ANONYMOUS else user


@router.post("", status_code=201)
def start_thread(body: ThreadStart, app: AppDep, user: UserDep) -> TurnPublic:
    """Start a thread with its first question; returns the first turn."""
    turn = app.ask_in_thread(
        body.question, audience=body.audience, user=_owner(user), save=body.save
    )
    return TurnPublic.of(turn)


@router.post("/{thread_id}/turns", status_code=201)
def add_turn(thread_id: str, body: TurnRequest, app: AppDep, user: UserDep) -> TurnPublic:
    """Ask a follow-up in a thread. It is resolved against the thread's previous question
    before retrieval; `resolved` says what was answered."""
    app.thread(thread_id, viewer=user)
    turn = app.ask_in_thread(body.question, thread_id=thread_id, user=_owner(user), save=body.save)
    return TurnPublic.of(turn)


@router.get("/{thread_id}")
def get_thread(thread_id: str, app: AppDep, user: UserDep) -> ThreadPublic:
    """Return a thread and every turn (to show or resume it)."""
    return ThreadPublic.of(app.thread(thread_id, viewer=user))


@router.get("")
def list_threads(
    app: AppDep, user: UserDep, limit: Annotated[int, Query(ge=1, le=200)] = 20
) -> ThreadList:
    """List the caller's recent threads (editors and admins see everyone's)."""
    threads = app.threads(limit=limit, viewer=user)
    return ThreadList(items=[ThreadPublic.of(t) for t in threads])
