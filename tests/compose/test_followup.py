"""Follow-up questions: resolution against the thread, stored threads, suggestions."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import pytest

from evident.app import App
from evident.compose.followup import resolve
from evident.compose.question import analyse
from evident.errors import GeneratorFailed, NotFound, PermissionDenied
from evident.index.vocab import load_vocabulary
from evident.models import Audience, ReviewStatus
from evident.review.records import Role

SEED_000 = "What is the treatment for soft tissue calcifications near the metatarsal head?"
ACHILLES = "How is midportion Achilles tendinopathy treated?"
GOUT = "How is gout flare treated?"


@pytest.mark.parametrize(
    ("follow_up", "previous", "expected"),
    [
        (
            "What if there is infection?",
            SEED_000,
            "What is the treatment for soft tissue calcifications near the metatarsal head "
            "in a patient with infection?",
        ),
        (
            "And in children?",
            SEED_000,
            "What is the treatment for soft tissue calcifications near the metatarsal head "
            "in children?",
        ),
        (
            "What about surgery?",
            SEED_000,
            "What is the treatment for soft tissue calcifications near the metatarsal head "
            "with surgery?",
        ),
        (
            "How is it diagnosed?",
            SEED_000,
            "What is the diagnosis of soft tissue calcifications near the metatarsal head?",
        ),
        (
            "Does it come back?",
            ACHILLES,
            "What is the prognosis of midportion Achilles tendinopathy?",
        ),
        (
            "And if the patient is on dialysis?",
            SEED_000,
            "What is the treatment for soft tissue calcifications near the metatarsal head "
            "in a patient on dialysis?",
        ),
        (
            "And in children?",
            ACHILLES,
            "What is the treatment for midportion Achilles tendinopathy in children?",
        ),
        ("What about gout?", SEED_000, "What is the treatment for gout?"),
        # After a when/yes-no question, a follow-up is about the condition named in it.
        (
            "And in children?",
            "When is surgery considered in gout flare?",
            "What is the treatment for gout in children?",
        ),
        # A question that names nothing the vocabulary knows leaves nothing to carry over.
        (
            "And in children?",
            "Is MEF2C associated with developmental disorders?",
            "And in children?",
        ),
        # A whole question about another condition stands alone.
        ("How is Charcot foot diagnosed?", SEED_000, "How is Charcot foot diagnosed?"),
        # The first question of a thread is answered as asked.
        ("What if there is infection?", None, "What if there is infection?"),
    ],
)
def test_follow_ups_resolve_against_the_previous_question(
    follow_up: str, previous: str | None, expected: str
) -> None:
    assert resolve(follow_up, previous, load_vocabulary(())) == expected


def test_resolved_questions_keep_the_condition_and_site() -> None:
    vocabulary = load_vocabulary(())
    before = analyse(SEED_000, vocabulary)
    for follow_up in ("What if there is infection?", "And in children?", "What about surgery?"):
        after = analyse(resolve(follow_up, SEED_000, vocabulary), vocabulary)
        assert after.conditions == before.conditions
        assert after.site.startswith("metatarsal head")
        assert [c.concept_id for c in after.concepts] == [c.concept_id for c in before.concepts]


def test_a_two_turn_thread_resolves_infection_to_the_calcification_condition(
    demo_app: App,
) -> None:
    first = demo_app.ask_in_thread(SEED_000)
    assert first.index == 1 and first.resolved == SEED_000
    second = demo_app.ask_in_thread("What if there is infection?", thread_id=first.thread_id)
    assert second.thread_id == first.thread_id and second.index == 2
    assert second.asked == "What if there is infection?"
    assert "soft tissue calcifications near the metatarsal head" in second.resolved
    article = second.answer.article
    assert not article.abstained
    assert article.condition == first.answer.article.condition == "soft tissue calcifications"
    assert article.question == second.resolved
    # The thread is stored and can be resumed from its id (or a prefix of it).
    thread = demo_app.thread(first.thread_id[:8])
    assert thread.condition == "soft tissue calcifications"
    assert [t.resolved for t in thread.turns] == [SEED_000, second.resolved]
    assert thread.turns[1].answer.article == article
    assert thread.turns[1].suggestions == second.suggestions
    assert first.thread_id in {t.thread_id for t in demo_app.threads()}
    third = demo_app.ask_in_thread("And in children?", thread_id=first.thread_id)
    assert third.index == 3 and third.resolved.endswith("in children?")


def test_a_thread_keeps_its_audience(demo_app: App) -> None:
    first = demo_app.ask_in_thread(SEED_000, audience=Audience.PATIENT)
    second = demo_app.ask_in_thread("What about surgery?", thread_id=first.thread_id)
    assert second.answer.article.audience is Audience.PATIENT
    assert demo_app.thread(first.thread_id).audience is Audience.PATIENT


def test_unknown_thread_is_not_found(demo_app: App) -> None:
    with pytest.raises(NotFound, match="no thread 'nope'"):
        demo_app.thread("nope")
    with pytest.raises(NotFound):
        demo_app.ask_in_thread("And in children?", thread_id="nope")


@pytest.mark.parametrize("question", [SEED_000, ACHILLES, "How is a gout flare treated?"])
def test_every_suggested_follow_up_is_answered_without_abstaining(
    demo_app: App, question: str
) -> None:
    article = demo_app.ask(question)
    suggestions = demo_app.suggest_follow_ups(article)
    assert 1 <= len(suggestions) <= 3
    assert question not in suggestions
    for suggestion in suggestions:
        answered = demo_app.ask(suggestion)
        assert not answered.abstained, suggestion
        assert analyse(suggestion, demo_app.vocabulary).concepts


def test_a_when_question_in_a_thread_reads_well_and_so_do_its_suggestions(
    demo_app: App,
) -> None:
    first = demo_app.ask_in_thread(GOUT)
    second = demo_app.ask_in_thread("When is surgery considered?", thread_id=first.thread_id)

    assert second.resolved == "When is surgery considered in gout flare?"
    assert second.answer.article.title == "When Is Surgery Considered in Gout Flare?"
    assert second.answer.article.condition == "gout"
    assert second.suggestions
    for suggestion in second.suggestions:
        assert "when is" not in suggestion.lower(), suggestion
        assert analyse(suggestion, demo_app.vocabulary).concepts, suggestion
    third = demo_app.ask_in_thread("What about in pregnancy?", thread_id=first.thread_id)
    assert third.resolved == "What is the treatment for gout in pregnancy?"
    assert "the pregnancy" not in third.answer.article.title.lower()


def test_no_suggestions_after_an_abstention(demo_app: App) -> None:
    article = demo_app.ask("What is the first-line treatment for acute otitis media in children?")
    assert article.abstained
    assert demo_app.suggest_follow_ups(article) == ()


def test_each_saved_turn_is_an_article_that_goes_through_review(demo_app: App) -> None:
    try:
        author = demo_app.user("thread-author")
    except NotFound:
        author, _ = demo_app.create_user("thread-author", Role.AUTHOR, actor="test")
    first = demo_app.ask_in_thread(SEED_000, user=author, save=True)
    second = demo_app.ask_in_thread(
        "What if there is infection?", thread_id=first.thread_id, user=author, save=True
    )
    record = second.answer.record
    assert record is not None and record.status is ReviewStatus.DRAFT
    assert record.question == second.resolved
    submitted = demo_app.editorial.act("submit", record.article_id, author, "from a thread")
    assert submitted.status is ReviewStatus.SUBMITTED
    stored = demo_app.thread(first.thread_id)
    assert stored.owner == "thread-author"
    turn_record = stored.turns[1].answer.record
    assert turn_record is not None and turn_record.status is ReviewStatus.SUBMITTED
    reader, _ = demo_app.create_user("thread-reader", Role.READER, actor="test")
    with pytest.raises(NotFound):
        demo_app.thread(first.thread_id, viewer=reader)
    with pytest.raises(PermissionDenied):
        demo_app.ask_in_thread(SEED_000, user=reader, save=True)


class _CountingModel:
    """A model endpoint that only counts how often it is asked to write."""

    name = "counting"

    def __init__(self) -> None:
        self.calls = 0

    def stream(self, messages: Sequence[dict[str, str]], schema: dict[str, Any]) -> Iterator[str]:
        self.calls += 1
        raise GeneratorFailed("this test's model does not write")


def test_suggestions_are_checked_against_the_evidence_without_asking_the_model(
    demo_app: App,
) -> None:
    article = demo_app.ask(SEED_000)
    model = _CountingModel()
    with_model = replace(demo_app, generator=model)

    suggestions = with_model.suggest_follow_ups(article)

    # The same suggestions as without a model, and not one model call to find them: a
    # model writing each candidate would add minutes to every ask.
    assert suggestions == demo_app.suggest_follow_ups(article)
    assert len(suggestions) >= 1
    assert model.calls == 0
