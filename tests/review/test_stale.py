"""Articles are flagged for re-review when their evidence changes."""

from __future__ import annotations

from pathlib import Path

from review_helpers import Cast, drive

from evident.app import App
from evident.models import ReviewStatus
from evident.review.records import ArticleRecord

S = ReviewStatus

NEW_GUIDELINE = """---
title: "Synthetic 2025 update on {condition} care"
kind: guideline
source: "Test Society of Rheumatology"
year: 2025
conditions: [{condition}]
---
# Update

## Flares
{body}
"""


def add_guideline(
    lib: App, folder: Path, name: str, condition: str, kind: str = "guideline"
) -> None:
    text = NEW_GUIDELINE.format(
        condition=condition, body=f"A new {kind} finding about {condition} care. " * 3
    )
    path = folder / name
    path.write_text(text.replace("kind: guideline", f"kind: {kind}"))
    report = lib.ingest([path])
    assert not report.failed


def test_a_changed_cited_document_flags_the_article(
    lib: App, cast: Cast, draft: ArticleRecord, sample_docs: Path
) -> None:
    drive(lib, cast, draft.article_id, S.PUBLISHED)
    guideline = sample_docs / "gout-flare-guideline.md"
    guideline.write_text(guideline.read_text() + "\nColchicine doses are kept low.\n")

    lib.ingest([sample_docs])  # ingest runs the staleness check

    record = lib.articles.get_record(draft.article_id)
    assert record.needs_rereview
    assert record.rereview_reason.startswith(
        "cited document dba41af35e (Synthetic guideline on gout flares of the big toe) "
        "was updated or removed"
    )
    last = lib.articles.events(draft.article_id)[-1]
    assert (last.actor, last.action, last.comment) == (
        "system",
        "flag_stale",
        record.rereview_reason,
    )


def test_a_new_guideline_on_the_condition_flags_the_article(
    lib: App, cast: Cast, draft: ArticleRecord, tmp_path: Path
) -> None:
    drive(lib, cast, draft.article_id, S.PUBLISHED)
    add_guideline(lib, tmp_path, "hip.md", "hip dysplasia")
    add_guideline(lib, tmp_path, "gout-trial.md", "gout", kind="randomised_trial")
    assert not lib.articles.get_record(draft.article_id).needs_rereview

    add_guideline(lib, tmp_path, "gout.md", "gout")

    record = lib.articles.get_record(draft.article_id)
    assert record.needs_rereview
    assert "new guideline on" in record.rereview_reason
    assert "Synthetic 2025 update on gout care" in record.rereview_reason


def test_flags_are_computed_on_demand_once_and_cleared_by_approval(
    lib: App, cast: Cast, draft: ArticleRecord, tmp_path: Path
) -> None:
    drive(lib, cast, draft.article_id, S.UNDER_REVIEW)
    rejected = lib.answer(
        "How is a gout flare treated in the knee?", fresh=True, save=True, user=cast.author
    ).record
    assert rejected is not None
    drive(lib, cast, rejected.article_id, S.REJECTED)
    add_guideline(lib, tmp_path, "gout.md", "gout")

    assert lib.editorial.check_stale(cast.reviewer) == []  # already flagged by the ingest
    assert lib.articles.get_record(draft.article_id).needs_rereview
    assert not lib.articles.get_record(rejected.article_id).needs_rereview

    approved = lib.editorial.act("approve", draft.article_id, cast.reviewer, "checked the update")
    assert not approved.needs_rereview
    assert lib.articles.events(draft.article_id)[-1].comment.startswith(
        "checked the update (re-review flag cleared: new guideline on"
    )
    assert lib.editorial.check_stale(cast.reviewer) == []
