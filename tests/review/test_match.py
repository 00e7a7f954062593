"""Asking a question a published article answers returns that article."""

from __future__ import annotations

import pytest
from review_helpers import QUESTION, Cast, drive

from evident.app import App
from evident.models import Audience, ReviewStatus
from evident.review.match import Candidate, best_match
from evident.review.records import ArticleRecord

GOUT = [
    Candidate("gout", QUESTION, "treatment", "physician"),
    Candidate("heel", "How is heel pain treated?", "treatment", "physician"),
]
GOUT_PARAPHRASES = [
    "What is the treatment for a gout flare?",
    "How do you treat a gout flare?",
    "gout flare treatment options",
    "Best management of an acute gout flare",
]
GOUT_OTHERS = [
    ("How is tophaceous gout treated?", "treatment"),
    ("How is gout diagnosed?", "diagnosis"),
    ("What causes gout flares?", "treatment"),  # classified as treatment, still no match
    ("How can gout flares be prevented?", "prevention"),
]
CALC = "What is the treatment for soft tissue calcifications near the metatarsal head?"
CALC_PARAPHRASES = [
    "How do you treat soft tissue calcification at the metatarsal head?",
    "Treatment of soft-tissue calcification close to the metatarsal head",
    "What is the best therapy for calcification near the metatarsal heads?",
]
CALC_OTHERS = [
    ("How are soft tissue calcifications near the metatarsal head diagnosed?", "diagnosis"),
    ("What causes soft tissue calcification near the metatarsal head?", "treatment"),
    ("What is the treatment for calcific tendinitis of the Achilles tendon?", "treatment"),
    ("What is the treatment for metatarsalgia?", "treatment"),
]


@pytest.mark.parametrize("question", GOUT_PARAPHRASES)
def test_lexical_paraphrases_match(question: str) -> None:
    found = best_match(question, "treatment", "physician", GOUT)
    assert found is not None and found[0] == "gout"


@pytest.mark.parametrize(("question", "qtype"), GOUT_OTHERS)
def test_lexical_other_questions_on_the_condition_do_not_match(question: str, qtype: str) -> None:
    assert best_match(question, qtype, "physician", GOUT) is None


def test_embedding_paraphrases_match_and_other_questions_do_not(demo_app: App) -> None:
    embedder = demo_app.embedder
    assert embedder is not None
    pool = [*GOUT, Candidate("calc", CALC, "treatment", "physician")]
    for question in GOUT_PARAPHRASES:
        found = best_match(question, "treatment", "physician", pool, embedder)
        assert found is not None and found[0] == "gout", question
    for question in CALC_PARAPHRASES:
        found = best_match(question, "treatment", "physician", pool, embedder)
        assert found is not None and found[0] == "calc", question
    for question, qtype in GOUT_OTHERS + CALC_OTHERS:
        assert best_match(question, qtype, "physician", pool, embedder) is None, question


def test_the_audience_must_agree() -> None:
    assert best_match(QUESTION, "treatment", "patient", GOUT) is None


def test_ask_returns_the_published_article_unless_fresh(
    lib: App, cast: Cast, draft: ArticleRecord
) -> None:
    assert lib.answer(GOUT_PARAPHRASES[0]).source == "fresh"  # a draft is not served
    drive(lib, cast, draft.article_id, ReviewStatus.PUBLISHED)

    for question in GOUT_PARAPHRASES:
        answer = lib.answer(question)
        assert answer.source == "published"
        assert answer.record is not None and answer.record.article_id == draft.article_id
        assert answer.record.reviewed_by == "bob" and answer.record.reviewed_at is not None
        assert answer.article.status is ReviewStatus.PUBLISHED
        assert answer.article.question == QUESTION

    assert lib.answer(QUESTION, fresh=True).source == "fresh"
    assert lib.answer(QUESTION, Audience.PATIENT).source == "fresh"
    assert lib.answer("How is gout diagnosed?").source == "fresh"
