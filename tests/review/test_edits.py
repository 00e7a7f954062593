"""Editing statements: revisions, diffs, citations to library passages, re-verification."""

from __future__ import annotations

import threading
from threading import Barrier

import pytest
from review_helpers import Cast, drive

from evident.app import App
from evident.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from evident.models import ReviewStatus
from evident.review.records import ArticleRecord
from evident.review.workflow import CitationSpec, StatementEdit, locate, numbered_statements

S = ReviewStatus
GOUT_TIMING = (
    "Treatment of a gout flare works best when started within 24 hours of the first symptoms."
)


def under_review(lib: App, cast: Cast, draft: ArticleRecord) -> ArticleRecord:
    return drive(lib, cast, draft.article_id, S.UNDER_REVIEW)


def statement(lib: App, article_id: str, target: str):  # type: ignore[no-untyped-def]
    article = lib.articles.get_revision(article_id).article
    return dict(numbered_statements(article))[target]


def passage_with(lib: App, text: str) -> tuple[str, int, int]:
    """The chunk id and span of a sentence in the library."""
    for row in lib.store.iter_passages():
        start = row["text"].find(text)
        if start >= 0:
            return row["chunk_id"], start, start + len(text)
    raise AssertionError(f"{text!r} is not in the library")


def test_a_supported_edit_makes_a_revision_with_a_diff(
    lib: App, cast: Cast, draft: ArticleRecord
) -> None:
    under_review(lib, cast, draft)
    assert statement(lib, draft.article_id, "s1.1").text == GOUT_TIMING

    revision = lib.editorial.edit(
        draft.article_id,
        cast.reviewer,
        StatementEdit(
            "s1.1", text="Treatment of a gout flare works best when started within 24 hours."
        ),
        "shorter",
    )

    assert (revision.revision, revision.author, revision.note) == (2, "bob", "shorter")
    assert lib.articles.get_record(draft.article_id).revision == 2
    assert (
        lib.articles.get_revision(draft.article_id, 1).article.sections[0].statements[0].text
        == GOUT_TIMING
    )
    diff = lib.editorial.diff(draft.article_id, cast.reviewer)
    assert f"--- {draft.article_id} revision 1" in diff
    assert f"-- {GOUT_TIMING} [1]" in diff
    assert "+- Treatment of a gout flare works best when started within 24 hours. [1]" in diff
    last = lib.articles.events(draft.article_id)[-1]
    assert (last.actor, last.action, last.target, last.revision, last.comment) == (
        "bob",
        "edit",
        "s1.1",
        2,
        "shorter",
    )


def test_an_edit_its_passage_does_not_address_is_refused_naming_the_passage(
    lib: App, cast: Cast, draft: ArticleRecord
) -> None:
    under_review(lib, cast, draft)
    chunk_id, _, _ = passage_with(lib, GOUT_TIMING)

    with pytest.raises(InvalidInput) as refused:
        lib.editorial.edit(
            draft.article_id,
            cast.reviewer,
            StatementEdit("s1.1", text="Gout flares resolve with aspirin and bed rest."),
        )

    message = str(refused.value)
    assert message.startswith(
        f"edit refused: statement s1.1: the source does not say this: passage {chunk_id} "
        "does not support it (support "
    ), message
    assert message.endswith(
        "needs 0.50); cite a passage that says it, or reword it to match the evidence"
    )
    assert lib.articles.get_record(draft.article_id).revision == 1
    assert len(lib.articles.list_revisions(draft.article_id)) == 1


REVERSALS = [
    # negation added
    "Treatment of a gout flare does not work best when started within 24 hours of the first "
    "symptoms.",
    # direction / timing flipped
    "Treatment of a gout flare works worst when started within 24 hours of the first symptoms.",
    # always / never
    "Treatment of a gout flare never works when started within 24 hours of the first symptoms.",
    # number changed
    "Treatment of a gout flare works best when started within 72 hours of the first symptoms.",
]


@pytest.mark.parametrize("reversed_text", REVERSALS)
def test_an_edit_that_reverses_its_statement_is_refused(
    lib: App, cast: Cast, draft: ArticleRecord, reversed_text: str
) -> None:
    under_review(lib, cast, draft)
    with pytest.raises(InvalidInput, match=r"^edit refused: statement s1\.1: the source "):
        lib.editorial.edit(draft.article_id, cast.reviewer, StatementEdit("s1.1", reversed_text))
    assert lib.articles.get_record(draft.article_id).revision == 1


def test_a_negated_edit_is_refused_as_the_opposite_with_the_exact_message(
    lib: App, cast: Cast, draft: ArticleRecord
) -> None:
    under_review(lib, cast, draft)
    chunk_id, _, _ = passage_with(lib, GOUT_TIMING)
    with pytest.raises(InvalidInput) as refused:
        lib.editorial.edit(draft.article_id, cast.reviewer, StatementEdit("s1.1", REVERSALS[0]))
    assert str(refused.value) == (
        f"edit refused: statement s1.1: the source says the opposite: passage {chunk_id} says "
        f"“{GOUT_TIMING}” (the statement negates 'work', which the passage states); cite a "
        "passage that says it, or reword it to match the evidence"
    )


def test_citations_can_be_added_and_removed(lib: App, cast: Cast, draft: ArticleRecord) -> None:
    under_review(lib, cast, draft)
    chunk_id, start, end = passage_with(lib, "Eccentric calf loading reduced")
    extra = lib.store.get_chunks([chunk_id])[chunk_id]

    lib.editorial.edit(
        draft.article_id,
        cast.reviewer,
        StatementEdit("s1.1", add_citations=(CitationSpec(chunk_id, start, end),)),
    )
    edited = statement(lib, draft.article_id, "s1.1")
    assert [c.chunk_id for c in edited.citations][-1] == chunk_id
    assert edited.citations[-1].quote == extra.text[start:end]
    article = lib.articles.get_revision(draft.article_id).article
    assert extra.document_id in {r.document_id for r in article.references}

    lib.editorial.edit(
        draft.article_id, cast.reviewer, StatementEdit("s1.1", remove_citations=(2,))
    )
    article = lib.articles.get_revision(draft.article_id).article
    assert len(statement(lib, draft.article_id, "s1.1").citations) == 1
    assert extra.document_id not in {r.document_id for r in article.references}
    assert lib.articles.get_record(draft.article_id).revision == 3


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            CitationSpec("nope", 0, 5),
            "passage 'nope' is not in the library; cite a passage id shown by `evident search` "
            "or `evident library show`",
        ),
        (
            CitationSpec("{chunk}", 0, 99999),
            "span 0–99999 is outside passage {chunk}, which has {n} characters",
        ),
        (
            CitationSpec("{chunk}", 5, 5),
            "span 5–5 is outside passage {chunk}, which has {n} characters",
        ),
        (
            CitationSpec("{chunk}", 0, 5, quote="Other"),
            "the quote does not match passage {chunk} at 0–5: the passage says {quote!r}",
        ),
    ],
)
def test_citations_must_be_spans_of_library_passages(
    lib: App, cast: Cast, draft: ArticleRecord, spec: CitationSpec, message: str
) -> None:
    under_review(lib, cast, draft)
    chunk_id, _, _ = passage_with(lib, GOUT_TIMING)
    text = lib.store.get_chunks([chunk_id])[chunk_id].text
    spec = CitationSpec(
        spec.chunk_id.replace("{chunk}", chunk_id), spec.start, spec.end, spec.quote
    )

    with pytest.raises(InvalidInput) as refused:
        lib.editorial.edit(
            draft.article_id, cast.reviewer, StatementEdit("s1.1", add_citations=(spec,))
        )

    assert str(refused.value) == message.format(chunk=chunk_id, n=len(text), quote=text[0:5])
    assert lib.articles.get_record(draft.article_id).revision == 1


def test_a_statement_keeps_at_least_one_citation(
    lib: App, cast: Cast, draft: ArticleRecord
) -> None:
    under_review(lib, cast, draft)
    with pytest.raises(InvalidInput, match=r"^statement s1.1 would have no citations left"):
        lib.editorial.edit(
            draft.article_id, cast.reviewer, StatementEdit("s1.1", remove_citations=(1,))
        )
    with pytest.raises(
        InvalidInput, match=r"^statement s1.1 has 1 citations; there is no citation 3"
    ):
        lib.editorial.edit(
            draft.article_id, cast.reviewer, StatementEdit("s1.1", remove_citations=(3,))
        )
    with pytest.raises(InvalidInput, match=r"^the edit leaves s1.1 unchanged"):
        lib.editorial.edit(draft.article_id, cast.reviewer, StatementEdit("s1.1"))


def test_deleting_a_statement_keeps_it_on_record(
    lib: App, cast: Cast, draft: ArticleRecord
) -> None:
    under_review(lib, cast, draft)
    before = lib.articles.get_revision(draft.article_id).article
    last_section = len(before.sections)
    only = before.sections[-1].statements
    assert len(only) == 1

    lib.editorial.edit(
        draft.article_id,
        cast.reviewer,
        StatementEdit(f"s{last_section}.1", delete=True),
        "off topic",
    )

    after = lib.articles.get_revision(draft.article_id).article
    assert len(after.sections) == last_section - 1  # the emptied section goes
    assert after.removed[-1].statement == only[0]
    assert after.removed[-1].reason == "deleted by bob: off topic"


def test_adding_a_statement_with_its_citation(lib: App, cast: Cast, draft: ArticleRecord) -> None:
    under_review(lib, cast, draft)
    sentence = "Serum urate in gout is lowered below 6 mg/dL"
    chunk_id, start, end = passage_with(lib, sentence)

    lib.editorial.edit(
        draft.article_id,
        cast.reviewer,
        StatementEdit(
            "b", text=sentence + ".", add_citations=(CitationSpec(chunk_id, start, end),)
        ),
    )

    added = lib.articles.get_revision(draft.article_id).article.bottom_line[-1]
    # The first half of a sentence is no whole quote, so the model judged it (and agreed).
    assert added.text == sentence + "." and 0.5 <= added.support < 1.0
    with pytest.raises(
        InvalidInput, match=r"^to add a statement to 's1' give its text and at least one citation"
    ):
        lib.editorial.edit(draft.article_id, cast.reviewer, StatementEdit("s1", text="x"))
    with pytest.raises(InvalidInput, match="names a whole list"):
        lib.editorial.edit(draft.article_id, cast.reviewer, StatementEdit("s1", delete=True))


def test_who_may_edit_when(lib: App, cast: Cast, draft: ArticleRecord) -> None:
    change = StatementEdit("s1.1", delete=True)
    with pytest.raises(NotFound):  # another author's draft is invisible to them
        lib.editorial.edit(draft.article_id, cast.other_author, change)
    with pytest.raises(PermissionDenied) as refused:
        lib.editorial.edit(draft.article_id, cast.reviewer, change)
    assert str(refused.value) == (
        f"bob cannot edit article {draft.article_id}: while it is draft only its author (ann) "
        "or an editor may"
    )

    under_review(lib, cast, draft)
    for other in (cast.author, cast.other_reviewer):
        with pytest.raises(PermissionDenied) as refused:
            lib.editorial.edit(draft.article_id, other, change)
        assert str(refused.value) == (
            f"{other.name} cannot edit article {draft.article_id}: it is under review by bob; "
            "only they or an editor may edit it"
        )

    lib.editorial.act("approve", draft.article_id, cast.reviewer)
    with pytest.raises(Conflict) as conflict:
        lib.editorial.edit(draft.article_id, cast.editor, change)
    assert str(conflict.value) == (
        "cannot edit an article that is approved; it must be a draft, under review or have "
        "changes requested; start a new revision with `evident review revise ID`"
    )

    lib.editorial.act("publish", draft.article_id, cast.editor)
    with pytest.raises(PermissionDenied) as refused:
        lib.editorial.edit(draft.article_id, cast.reader, change)
    assert str(refused.value) == (
        "rita (reader) cannot edit articles; authors, reviewers and editors can"
    )


def test_an_edit_on_a_stale_revision_is_refused(lib: App, cast: Cast, draft: ArticleRecord) -> None:
    article = lib.articles.get_revision(draft.article_id).article
    lib.articles.add_revision(draft.article_id, 1, "ann", "first", article)

    with pytest.raises(
        Conflict, match="was revised meanwhile \\(now revision 2, you edited revision 1\\)"
    ):
        lib.articles.add_revision(draft.article_id, 1, "bob", "late", article)


def test_targets(lib: App, draft: ArticleRecord) -> None:
    article = lib.articles.get_revision(draft.article_id).article
    assert locate(article, "b1").section is None
    assert (locate(article, "S1.2").section, locate(article, "s1.2").statement) == (0, 1)
    assert locate(article, "s1").statement is None
    with pytest.raises(InvalidInput, match=r"^statement 's9.1': the article has"):
        locate(article, "s9.1")
    with pytest.raises(InvalidInput, match=r"^statement '1.1' is not a valid target"):
        locate(article, "1.1")


def test_an_edit_after_the_article_was_approved_is_refused_in_the_same_transaction(
    lib: App, cast: Cast, draft: ArticleRecord
) -> None:
    read = under_review(lib, cast, draft)
    article = lib.articles.get_revision(draft.article_id).article
    lib.editorial.act("approve", draft.article_id, cast.reviewer, "fine")

    # The edit read the article while it was under review and commits after the approval.
    with pytest.raises(Conflict) as refused:
        lib.articles.add_revision(
            draft.article_id, read.revision, "bob", "late", article, expect_status=read.status
        )

    assert str(refused.value) == (
        f"article {draft.article_id} changed meanwhile: it is now approved; reload it and retry"
    )
    assert lib.articles.get_record(draft.article_id).revision == 1


def test_an_approval_names_its_revision_and_is_refused_after_an_edit(
    lib: App, cast: Cast, draft: ArticleRecord
) -> None:
    under_review(lib, cast, draft)
    change = StatementEdit(
        "s1.1", text="Treatment of a gout flare works best when started within 24 hours."
    )
    lib.editorial.edit(draft.article_id, cast.reviewer, change, "shorter")

    with pytest.raises(Conflict) as refused:
        lib.editorial.act("approve", draft.article_id, cast.reviewer, "fine", revision=1)

    assert str(refused.value) == (
        f"cannot approve revision 1 of article {draft.article_id}: it is now at revision 2; "
        "reload it, read the changes and try again"
    )
    assert lib.articles.get_record(draft.article_id).status is S.UNDER_REVIEW
    approved = lib.editorial.act("approve", draft.article_id, cast.reviewer, "fine", revision=2)
    assert approved.status is S.APPROVED
    last = lib.articles.events(draft.article_id)[-1]
    assert (last.action, last.revision) == ("approve", 2)


def test_racing_edits_and_approvals_never_change_approved_text(
    lib: App, cast: Cast, draft: ArticleRecord
) -> None:
    """Edit and approve at the same moment, many times: whichever wins, the text that was
    approved is the text of the current revision."""
    texts = [f"Treatment of a gout flare works best when started within {h} hours." for h in
             range(24, 44)]  # fmt: skip
    article_id = draft.article_id
    under_review(lib, cast, draft)
    for text in texts:
        barrier = threading.Barrier(2)
        outcome: dict[str, str] = {}

        def edit_it(
            text: str = text, outcome: dict[str, str] = outcome, barrier: Barrier = barrier
        ) -> None:
            barrier.wait()
            try:
                lib.editorial.edit(article_id, cast.reviewer, StatementEdit("s1.1", text=text))
                outcome["edit"] = "ok"
            except Conflict as exc:
                outcome["edit"] = str(exc)

        def approve_it(outcome: dict[str, str] = outcome, barrier: Barrier = barrier) -> None:
            barrier.wait()
            try:
                lib.editorial.act("approve", article_id, cast.reviewer, "fine")
                outcome["approve"] = "ok"
            except Conflict as exc:
                outcome["approve"] = str(exc)

        workers = [threading.Thread(target=edit_it), threading.Thread(target=approve_it)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

        record = lib.articles.get_record(article_id)
        if record.status is S.APPROVED:
            approval = [e for e in lib.articles.events(article_id) if e.action == "approve"][-1]
            assert approval.revision == record.revision, outcome
            # Back to review for the next round (a new draft would work too).
            reopen = {"actor": "eve", "action": "reopen", "to_status": "under_review"}
            lib.articles.change_record(article_id, event=reopen, status=S.UNDER_REVIEW)
