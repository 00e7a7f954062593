"""The review workflow: every transition, every role, the refusals, and the audit log."""

from __future__ import annotations

import sqlite3

import pytest
from review_helpers import QUESTION, Cast, drive

from evident.app import App
from evident.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from evident.models import ReviewStatus
from evident.review.records import ArticleRecord, Role
from evident.review.workflow import TRANSITIONS, StatementEdit, words

S = ReviewStatus
# The actor who may take each action, when the article is in a state it starts from.
ACTOR = {
    "submit": "author",
    "claim": "reviewer",
    "approve": "reviewer",
    "request_changes": "reviewer",
    "reject": "reviewer",
    "publish": "editor",
    "retract": "editor",
}


def in_state(lib: App, cast: Cast, status: ReviewStatus) -> ArticleRecord:
    """A fresh article in the given state (superseded goes through a second revision)."""
    record = lib.answer(QUESTION, fresh=True, save=True, user=cast.author).record
    assert record is not None
    if status is S.SUPERSEDED:
        drive(lib, cast, record.article_id, S.PUBLISHED)
        newer = lib.editorial.revise(record.article_id, cast.author)
        drive(lib, cast, newer.article_id, S.PUBLISHED)
        return lib.articles.get_record(record.article_id)
    return drive(lib, cast, record.article_id, status)


@pytest.mark.parametrize("status", list(S), ids=str)
@pytest.mark.parametrize("action", list(TRANSITIONS))
def test_every_action_from_every_state(lib: App, cast: Cast, action: str, status: S) -> None:
    record = in_state(lib, cast, status)
    step = TRANSITIONS[action]
    actor = getattr(cast, ACTOR[action])
    events_before = len(lib.articles.events(record.article_id))

    if status in step.sources:
        after = lib.editorial.act(action, record.article_id, actor, "a reason")
        assert after.status is step.target
        last = lib.articles.events(record.article_id)[-1]
        assert (last.actor, last.action, last.from_status, last.to_status, last.comment) == (
            actor.name,
            action,
            status.value,
            step.target.value,
            "a reason",
        )
    else:
        with pytest.raises(Conflict) as refused:
            lib.editorial.act(action, record.article_id, actor, "a reason")
        if action == "retract":
            assert str(refused.value) == (
                f"cannot retract article {record.article_id}: it is already retracted"
            )
        else:
            assert str(refused.value) == (
                f"cannot {step.verb} an article that is {words(status)}; "
                f"it must be {step.need} first"
            )
        assert lib.articles.get_record(record.article_id).status is status
        assert len(lib.articles.events(record.article_id)) == events_before


def test_the_refusal_message_for_approving_a_draft(
    lib: App, cast: Cast, draft: ArticleRecord
) -> None:
    with pytest.raises(
        Conflict, match=r"^cannot approve an article that is draft; it must be under review first$"
    ):
        lib.editorial.act("approve", draft.article_id, cast.reviewer)


@pytest.mark.parametrize("action", list(TRANSITIONS))
@pytest.mark.parametrize("role", list(Role), ids=str)
def test_roles_below_an_action_are_refused(
    lib: App, cast: Cast, draft: ArticleRecord, action: str, role: Role
) -> None:
    step = TRANSITIONS[action]
    user = cast.by_role(role)
    if role.at_least(step.role):
        return  # allowed roles are exercised by the transition tests
    with pytest.raises(PermissionDenied) as refused:
        lib.editorial.act(action, draft.article_id, user, "why")
    assert str(refused.value) == (
        f"{user.name} ({role.value}) cannot {step.verb} articles; "
        f"it needs the {step.role.value} role or higher"
    )


def test_the_full_lifecycle_records_who_and_when(
    lib: App, cast: Cast, draft: ArticleRecord
) -> None:
    record = drive(lib, cast, draft.article_id, S.PUBLISHED)

    assert record.reviewed_by == "bob" and record.reviewed_at is not None
    assert record.published_at is not None and record.reviewer == "bob"
    assert record.library_version == lib.store.library_version()
    actions = [(e.actor, e.action) for e in lib.articles.events(draft.article_id)]
    assert actions == [
        ("ann", "create"),
        ("ann", "submit"),
        ("bob", "claim"),
        ("bob", "approve"),
        ("eve", "publish"),
    ]


def test_a_reviewer_cannot_claim_their_own_article(lib: App, cast: Cast) -> None:
    mine = lib.answer(QUESTION, fresh=True, save=True, user=cast.reviewer).record
    assert mine is not None
    lib.editorial.act("submit", mine.article_id, cast.reviewer)

    with pytest.raises(PermissionDenied) as refused:
        lib.editorial.act("claim", mine.article_id, cast.reviewer)

    assert str(refused.value) == (
        f"bob wrote article {mine.article_id}, so another reviewer must claim it"
    )
    assert lib.editorial.act("claim", mine.article_id, cast.other_reviewer).reviewer == "bea"


@pytest.mark.parametrize("action", ["approve", "request_changes", "reject"])
def test_only_the_claiming_reviewer_decides(
    lib: App, cast: Cast, draft: ArticleRecord, action: str
) -> None:
    drive(lib, cast, draft.article_id, S.UNDER_REVIEW)
    verb = TRANSITIONS[action].verb

    for other in (cast.other_reviewer, cast.editor):
        with pytest.raises(PermissionDenied) as refused:
            lib.editorial.act(action, draft.article_id, other, "why")
        assert str(refused.value) == (
            f"{other.name} cannot {verb} article {draft.article_id}: it is under review by "
            "bob; only the reviewer who claimed it may"
        )
    assert lib.articles.get_record(draft.article_id).status is S.UNDER_REVIEW


def test_only_the_author_or_an_editor_submits(lib: App, cast: Cast, draft: ArticleRecord) -> None:
    with pytest.raises(NotFound):  # another author's draft is invisible to them
        lib.editorial.act("submit", draft.article_id, cast.other_author)
    with pytest.raises(PermissionDenied) as refused:
        lib.editorial.act("submit", draft.article_id, cast.reviewer)
    assert str(refused.value) == (
        f"bob cannot submit article {draft.article_id}: only its author (ann) or an editor may"
    )

    assert lib.editorial.act("submit", draft.article_id, cast.editor).status is S.SUBMITTED


@pytest.mark.parametrize("action", ["request_changes", "reject", "retract"])
def test_actions_that_need_a_reason_refuse_without_one(
    lib: App, cast: Cast, draft: ArticleRecord, action: str
) -> None:
    if action != "retract":
        drive(lib, cast, draft.article_id, S.UNDER_REVIEW)
    actor = getattr(cast, ACTOR[action])
    before = lib.articles.get_record(draft.article_id).status

    with pytest.raises(InvalidInput) as refused:
        lib.editorial.act(action, draft.article_id, actor, "  ")

    verb = TRANSITIONS[action].verb
    assert str(refused.value) == (
        f"say why when you {verb} an article: add a comment (--comment TEXT)"
    )
    assert lib.articles.get_record(draft.article_id).status is before


def test_changes_requested_goes_back_to_the_author_and_is_resubmitted(
    lib: App, cast: Cast, draft: ArticleRecord
) -> None:
    drive(lib, cast, draft.article_id, S.CHANGES_REQUESTED)

    lib.editorial.edit(
        draft.article_id, cast.author, StatementEdit("s1.1", delete=True), "as asked"
    )
    again = lib.editorial.act("submit", draft.article_id, cast.author)

    assert again.status is S.SUBMITTED and again.reviewer is None and again.revision == 2
    assert lib.editorial.act("claim", draft.article_id, cast.other_reviewer).reviewer == "bea"


def test_unknown_action_is_refused(lib: App, cast: Cast, draft: ArticleRecord) -> None:
    with pytest.raises(InvalidInput, match="unknown review action 'bless'; choose one of: submit"):
        lib.editorial.act("bless", draft.article_id, cast.admin)


def test_publishing_a_new_revision_supersedes_the_old_one(
    lib: App, cast: Cast, draft: ArticleRecord
) -> None:
    drive(lib, cast, draft.article_id, S.PUBLISHED)
    newer = lib.editorial.revise(draft.article_id, cast.other_author, "update for 2025")
    assert newer.status is S.DRAFT and newer.supersedes == draft.article_id
    assert lib.articles.get_record(draft.article_id).status is S.PUBLISHED

    lib.editorial.act("submit", newer.article_id, cast.other_author)
    lib.editorial.act("claim", newer.article_id, cast.reviewer)
    lib.editorial.act("approve", newer.article_id, cast.reviewer)
    # Still published until the newer one is, so the question always has an answer.
    assert lib.articles.get_record(draft.article_id).status is S.PUBLISHED
    lib.editorial.act("publish", newer.article_id, cast.editor)

    old = lib.articles.get_record(draft.article_id)
    assert old.status is S.SUPERSEDED and old.superseded_by == newer.article_id
    last = lib.articles.events(draft.article_id)[-1]
    assert (last.actor, last.action, last.to_status, last.comment) == (
        "eve",
        "supersede",
        "superseded",
        f"superseded by {newer.article_id}",
    )


def test_revise_needs_an_approved_or_published_article(
    lib: App, cast: Cast, draft: ArticleRecord
) -> None:
    with pytest.raises(Conflict, match=r"^cannot revise an article that is draft; edit it in"):
        lib.editorial.revise(draft.article_id, cast.author)
    with pytest.raises(PermissionDenied, match=r"rita \(reader\) cannot start a new revision"):
        lib.editorial.revise(draft.article_id, cast.reader)


def test_readers_see_only_published_articles(lib: App, cast: Cast, draft: ArticleRecord) -> None:
    other = lib.answer("How is heel pain treated?", fresh=True, save=True, user=cast.author).record
    assert other is not None
    drive(lib, cast, other.article_id, S.PUBLISHED)

    for viewer in (cast.reader, cast.other_author):
        with pytest.raises(NotFound, match=f"^no article '{draft.article_id}'"):
            lib.editorial.get(draft.article_id, viewer)
        listed = lib.editorial.list_articles(viewer)
        assert [r.article_id for r in listed] == [other.article_id]
        assert lib.editorial.get(other.article_id, viewer).article.status is S.PUBLISHED
    assert {r.article_id for r in lib.editorial.list_articles(cast.author)} == {
        draft.article_id,
        other.article_id,
    }
    assert len(lib.editorial.list_articles(cast.reviewer)) == 2
    with pytest.raises(PermissionDenied, match="cannot see the review history"):
        lib.editorial.history(other.article_id, cast.reader)
    with pytest.raises(PermissionDenied, match=r"rita \(reader\) cannot see the review queue"):
        lib.editorial.queue(cast.reader)


def test_the_queue_lists_submitted_and_claimed_articles(
    lib: App, cast: Cast, draft: ArticleRecord
) -> None:
    assert lib.editorial.queue(cast.reviewer) == []
    drive(lib, cast, draft.article_id, S.SUBMITTED)
    assert [r.status for r in lib.editorial.queue(cast.reviewer)] == [S.SUBMITTED]
    lib.editorial.act("claim", draft.article_id, cast.reviewer)
    assert [r.status for r in lib.editorial.queue(cast.reviewer)] == [S.UNDER_REVIEW]


def test_the_audit_log_cannot_be_changed_or_deleted(
    lib: App, cast: Cast, draft: ArticleRecord
) -> None:
    drive(lib, cast, draft.article_id, S.UNDER_REVIEW)
    conn = sqlite3.connect(lib.store.path)
    try:
        for sql in (
            "UPDATE review_events SET comment='forged'",
            "DELETE FROM review_events",
            "UPDATE revisions SET note='forged'",
            "DELETE FROM revisions",
        ):
            with pytest.raises(sqlite3.IntegrityError, match=r"append-only|immutable"):
                conn.execute(sql)
    finally:
        conn.close()
    assert [e.action for e in lib.articles.events(draft.article_id)] == [
        "create",
        "submit",
        "claim",
    ]
    assert not any(hasattr(lib.articles, name) for name in ("update_event", "delete_event"))


def test_comments_on_statements_and_sections(lib: App, cast: Cast, draft: ArticleRecord) -> None:
    lib.editorial.comment(draft.article_id, cast.reviewer, "Which NSAID?", "B1")
    lib.editorial.comment(draft.article_id, cast.author, "Reordered.", "s1")
    lib.editorial.comment(draft.article_id, cast.editor, "Looks fine overall.")

    comments = [
        (e.actor, e.target, e.comment)
        for e in lib.articles.events(draft.article_id)
        if e.action == "comment"
    ]
    assert comments == [
        ("bob", "b1", "Which NSAID?"),
        ("ann", "s1", "Reordered."),
        ("eve", "", "Looks fine overall."),
    ]


def test_comment_refusals(lib: App, cast: Cast, draft: ArticleRecord) -> None:
    drive(lib, cast, draft.article_id, S.PUBLISHED)
    with pytest.raises(PermissionDenied, match=r"^rita \(reader\) cannot comment on article"):
        lib.editorial.comment(draft.article_id, cast.reader, "hi")
    with pytest.raises(PermissionDenied, match=r"^amir \(author\) cannot comment"):
        lib.editorial.comment(draft.article_id, cast.other_author, "hi")
    with pytest.raises(InvalidInput, match=r"^the comment is empty"):
        lib.editorial.comment(draft.article_id, cast.reviewer, " ")
    with pytest.raises(InvalidInput, match=r"^statement 'b9' does not exist: that list has 1"):
        lib.editorial.comment(draft.article_id, cast.reviewer, "x", "b9")
    with pytest.raises(InvalidInput, match=r"^statement 'q1' is not a valid target"):
        lib.editorial.comment(draft.article_id, cast.reviewer, "x", "q1")


def test_unknown_article(lib: App, cast: Cast) -> None:
    with pytest.raises(NotFound) as missing:
        lib.editorial.act("submit", "nope", cast.admin)
    assert str(missing.value) == (
        "no article 'nope'; run `evident articles list` to see article ids"
    )
