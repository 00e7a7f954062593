"""POST /ask/stream: the answer as server-sent events, each statement once it is verified."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from itertools import chain
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from evident.api.deps import AppDep, UserDep
from evident.api.errors import status_for
from evident.api.schemas import ERRORS, AnswerPublic, AskRequest
from evident.compose.render import statement_json
from evident.errors import EvidentError
from evident.models import (
    ArticleReady,
    AskEvent,
    FellBack,
    StatementDropped,
    StatementShown,
)
from evident.review.records import Answer

log = logging.getLogger(__name__)
router = APIRouter(responses=ERRORS)

STREAM_DOC = """\
Server-sent events (`text/event-stream`), in this order:

- `statement` — `{"part": "bottom_line"|"section", "section": i, "heading": "...",
  "statement": {...}}`: a statement that passed verification, as it is written;
- `dropped` — `{"text", "reason"}`: a generated statement verification rejected;
- `fallback` — `{"reason"}`: the language model's draft is not used; statements sent so
  far are withdrawn and the extractive article's statements follow;
- `article` — `{"source", "similarity", "info", "article"}`: the finished article (as
  from POST /ask), always last;
- `error` — `{"ok": false, "error", "status"}` if something fails after the stream began.

A published article that matches the question is sent as one `article` event unless
`fresh` is set.
"""


def sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def error_event(exc: Exception) -> str:
    """The `error` event that ends a stream which failed after it began (one error shape)."""
    if isinstance(exc, EvidentError):
        return sse("error", {"ok": False, "error": str(exc), "status": status_for(exc)})
    log.exception("ask stream failed", exc_info=exc)
    return sse("error", {"ok": False, "error": "internal error; see the server log", "status": 500})


def encode(event: AskEvent) -> tuple[str, dict[str, Any]]:
    if isinstance(event, StatementShown):
        return "statement", {
            "part": event.part,
            "section": event.section,
            "heading": event.heading,
            "statement": statement_json(event.statement),
        }
    if isinstance(event, StatementDropped):
        return "dropped", {"text": event.text, "reason": event.reason}
    if isinstance(event, FellBack):
        return "fallback", {"reason": event.reason}
    raise AssertionError(f"unexpected event {event!r}")


@router.post(
    "/ask/stream",
    tags=["ask"],
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": STREAM_DOC}},
)
def ask_stream(body: AskRequest, app: AppDep, user: UserDep) -> StreamingResponse:
    """Answer a question as a stream of server-sent events: each statement is sent once
    it has passed verification, then the finished article."""
    app.check_can_save(body.save, user)
    if not body.fresh:
        published = app.published_answer(body.question, body.audience)
        if published is not None:
            data = AnswerPublic.of(published).model_dump(mode="json")
            return StreamingResponse(iter([sse("article", data)]), media_type="text/event-stream")
    events = app.ask_stream(body.question, body.audience)
    # The first event is computed now, so bad input is a normal error response.
    first = next(events)

    def body_events() -> Iterator[str]:
        try:
            for event in chain([first], events):
                if isinstance(event, ArticleReady):
                    record = app.editorial.save(event.article, user) if body.save else None
                    answer = Answer(event.article, "fresh", record)
                    yield sse("article", AnswerPublic.of(answer).model_dump(mode="json"))
                else:
                    yield sse(*encode(event))
        except Exception as exc:  # the stream has started: report instead of cutting it off
            yield error_event(exc)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(body_events(), media_type="text/event-stream", headers=headers)
