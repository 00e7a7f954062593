"""Conversation threads: a question and its follow-ups, each answered by its own article.

A turn records what the user typed (`asked`) and the whole question evident answered
(`resolved`), so every front end can show the resolved question and let the user correct
it. Each turn's article is an ordinary article: saved, it goes through review like any
other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from evident.models import Audience
from evident.review.records import Answer


@dataclass(frozen=True, slots=True)
class Turn:
    """One question in a thread and its answer.

    index: 1 for the thread's first question.
    asked: what the user typed; resolved: the whole question that was answered.
    suggestions: follow-up questions the library can answer, offered after the article.
    """

    thread_id: str
    index: int
    asked: str
    resolved: str
    answer: Answer
    suggestions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Thread:
    """A stored conversation.

    condition: the condition the thread is about (from its first answered question).
    owner: the user who started it ("" when asked anonymously).
    """

    thread_id: str
    created_at: datetime
    updated_at: datetime
    audience: Audience
    condition: str
    owner: str
    turns: tuple[Turn, ...] = ()
