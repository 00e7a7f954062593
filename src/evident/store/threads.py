"""Conversation threads in the library database (tables from migration 3)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from evident.errors import NotFound
from evident.models import Audience
from evident.review.records import Answer, ArticleRecord
from evident.review.serialize import article_from_json, article_to_json
from evident.review.threads import Thread, Turn
from evident.store.articles import now
from evident.store.sql import Row, SqlStore


class ThreadStore:
    """Create threads, append turns, and read them back."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store

    def create(self, thread_id: str, audience: Audience, condition: str, owner: str) -> None:
        stamp = now().isoformat()
        with self.store.transaction() as tx:
            tx.execute(
                "INSERT INTO threads(thread_id, created_at, updated_at, audience, condition, owner)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (thread_id, stamp, stamp, audience.value, condition, owner),
            )

    def add_turn(self, turn: Turn) -> None:
        answer = turn.answer
        stamp = now().isoformat()
        with self.store.transaction() as tx:
            tx.execute(
                "INSERT INTO thread_turns(thread_id, turn_index, asked, resolved, created_at,"
                " source, similarity, article_id, article_json, suggestions)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    turn.thread_id,
                    turn.index,
                    turn.asked,
                    turn.resolved,
                    stamp,
                    answer.source,
                    answer.similarity,
                    answer.record.article_id if answer.record is not None else None,
                    json.dumps(article_to_json(answer.article), ensure_ascii=False),
                    json.dumps(list(turn.suggestions)),
                ),
            )
            tx.execute("UPDATE threads SET updated_at=? WHERE thread_id=?", (stamp, turn.thread_id))

    def get(
        self,
        thread_id: str,
        record: Callable[[str], ArticleRecord | None] = lambda _: None,
        *,
        exact: bool = False,
    ) -> Thread:
        """Return a thread with its turns; record(article_id) looks up saved articles.

        Raises:
            NotFound: no thread has this id (a unique prefix is enough unless exact).
        """
        conn = self.store.conn
        if exact:
            rows = conn.execute(
                "SELECT * FROM threads WHERE thread_id=?", (thread_id.strip(),)
            ).fetchall()
        else:
            rows = conn.execute(
                "SELECT * FROM threads WHERE thread_id LIKE ? ORDER BY thread_id LIMIT 2",
                (thread_id.strip() + "%",),
            ).fetchall()
        if len(rows) != 1 or not thread_id.strip():
            raise NotFound(
                f"no thread {thread_id!r}; list threads with `evident chat --list` "
                "or GET /api/v1/threads"
            )
        row = rows[0]
        turn_rows = conn.execute(
            "SELECT * FROM thread_turns WHERE thread_id=? ORDER BY turn_index",
            (row["thread_id"],),
        ).fetchall()
        return _thread(row, tuple(_turn(t, record) for t in turn_rows))

    def recent(self, limit: int = 20) -> list[Thread]:
        """Threads by last activity, newest first, without their turns."""
        rows = self.store.conn.execute(
            "SELECT * FROM threads ORDER BY updated_at DESC LIMIT ?", (limit,)
        ).fetchall()
        return [_thread(r, ()) for r in rows]

    def count_turns(self, thread_id: str) -> int:
        row = self.store.conn.execute(
            "SELECT COUNT(*) FROM thread_turns WHERE thread_id=?", (thread_id,)
        ).fetchone()
        return int(row[0])


def _thread(row: Row, turns: tuple[Turn, ...]) -> Thread:
    return Thread(
        thread_id=row["thread_id"],
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
        audience=Audience(row["audience"]),
        condition=row["condition"],
        owner=row["owner"],
        turns=turns,
    )


def _turn(row: Row, record: Callable[[str], ArticleRecord | None]) -> Turn:
    article_id = row["article_id"]
    answer = Answer(
        article_from_json(json.loads(row["article_json"])),
        row["source"],
        record(article_id) if article_id else None,
        row["similarity"],
    )
    return Turn(
        thread_id=row["thread_id"],
        index=int(row["turn_index"]),
        asked=row["asked"],
        resolved=row["resolved"],
        answer=answer,
        suggestions=tuple(json.loads(row["suggestions"])),
    )
