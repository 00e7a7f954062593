"""Stored articles: the JSON round trip restores the domain object exactly."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from review_helpers import QUESTION

from evident.app import App
from evident.compose.render import to_json
from evident.errors import InvalidInput
from evident.models import RemovedStatement
from evident.review.serialize import article_from_json, article_to_json


def test_round_trip_restores_the_article(lib: App) -> None:
    article = lib.ask(QUESTION)
    removed = RemovedStatement(article.bottom_line[0], "support 0.20 below threshold 0.60")
    article = replace(article, removed=(removed,), notes=("a note",))

    stored = json.loads(json.dumps(article_to_json(article)))

    assert stored["schema"] == "evident.article/1"
    assert article_from_json(stored) == article
    # The stored form is the public form plus extra keys.
    public = to_json(article)
    assert {
        k: v
        for k, v in stored.items()
        if k in public and k not in ("references", "removed", "bottom_line", "sections")
    } == {
        k: v
        for k, v in public.items()
        if k not in ("references", "removed", "bottom_line", "sections")
    }


def test_round_trip_of_a_demo_article(demo_app: App) -> None:
    article = demo_app.ask(
        "What is the treatment for soft tissue calcifications near the metatarsal head?"
    )

    assert article_from_json(json.loads(json.dumps(article_to_json(article)))) == article


def test_the_public_form_restores_when_each_statement_cites_one_document(lib: App) -> None:
    article = lib.ask(QUESTION)

    restored = article_from_json(to_json(article))

    assert restored.statements() == article.statements()
    assert [r.document_id for r in restored.references] == [
        r.document_id for r in article.references
    ]


def test_other_schemas_are_refused() -> None:
    with pytest.raises(
        InvalidInput, match=r"^article JSON has schema 'other/2', expected 'evident.article/1'"
    ):
        article_from_json({"schema": "other/2"})
    with pytest.raises(InvalidInput, match=r"^article JSON is incomplete or malformed"):
        article_from_json({"schema": "evident.article/1", "references": []})
