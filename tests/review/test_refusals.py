"""Refusals are kept for their link and the audit log, never queued for review."""

from __future__ import annotations

from pathlib import Path

import pytest
from review_helpers import Cast

from evident.app import App
from evident.errors import Conflict
from evident.models import ReviewStatus
from evident.review.records import ArticleRecord
from evident.store.articles import ArticleStore
from evident.store.sqlite import SqliteStore

REFUSED = "What is the first-line treatment for acute otitis media?"


def test_a_refusal_is_saved_flagged_and_cannot_be_submitted(
    lib: App, cast: Cast, draft: ArticleRecord
) -> None:
    answer = lib.answer(REFUSED, fresh=True, save=True, user=cast.author)
    assert answer.article.abstained and answer.record is not None
    refused = answer.record
    assert refused.abstained and not draft.abstained
    with pytest.raises(Conflict, match="it is a refusal"):
        lib.editorial.act("submit", refused.article_id, cast.editor)
    assert [n for n, _ in lib.editorial.actions_for(refused, cast.editor)] == ["retract"]
    assert "submit" in [n for n, _ in lib.editorial.actions_for(draft, cast.editor)]
    everything = lib.editorial.list_articles(cast.reviewer, abstained=None)
    assert {r.article_id for r in everything} == {draft.article_id, refused.article_id}
    assert lib.editorial.list_articles(cast.reviewer) == [lib.articles.get_record(draft.article_id)]
    # Retracting it (to take a question off the record) still works and is audited.
    lib.editorial.act("retract", refused.article_id, cast.editor, "asked in error")
    assert lib.articles.get_record(refused.article_id).status is ReviewStatus.RETRACTED


def test_refusals_saved_before_the_flag_existed_are_found_by_the_migration(
    lib: App, cast: Cast, draft: ArticleRecord
) -> None:
    refused = lib.answer(REFUSED, fresh=True, save=True, user=cast.author).record
    assert refused is not None
    # The library as it was before migration 8: no abstained column.
    conn = lib.store.conn
    conn.execute("ALTER TABLE articles DROP COLUMN abstained")
    conn.execute("PRAGMA user_version=7")
    path = lib.store.path
    lib.store.close()

    reopened = ArticleStore(SqliteStore(path))

    flags = {r.article_id: r.abstained for r in reopened.list_records(abstained=None)}
    assert flags == {refused.article_id: True, draft.article_id: False}
    assert [r.article_id for r in reopened.list_records()] == [draft.article_id]


def test_articles_list_leaves_refusals_out_unless_asked(run_cli, sample_docs: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("ingest", str(sample_docs)).exit_code == 0
    assert run_cli("users", "create", "ann", "--role", "author").exit_code == 0
    assert run_cli("ask", "How is a gout flare treated?", "--save", "--as", "ann").exit_code == 0
    assert run_cli("ask", REFUSED, "--save", "--as", "ann").exit_code == 0
    listed = run_cli("articles", "list", "--as", "ann").stdout
    refused = run_cli("articles", "list", "--refused", "--as", "ann").stdout
    assert "gout" in listed and "otitis" not in listed
    assert "otitis" in refused and "gout" not in refused
