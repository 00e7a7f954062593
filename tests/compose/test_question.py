"""Reading a question: its type, the condition it asks about, the body site and context."""

from __future__ import annotations

import pytest

from evident.compose.question import analyse
from evident.index.vocab import load_vocabulary
from evident.models import QuestionType


@pytest.mark.parametrize(
    ("question", "qtype", "concept", "site"),
    [
        (
            "What is the treatment for soft tissue calcifications near the metatarsal head?",
            QuestionType.TREATMENT,
            "soft tissue calcification",
            "metatarsal head",
        ),
        (
            "Initial management of small heterotopic ossification in the Achilles tendon",
            QuestionType.TREATMENT,
            "heterotopic ossification",
            "Achilles tendon",
        ),
        (
            "How is tumoral calcinosis of the foot managed?",
            QuestionType.TREATMENT,
            "tumoral calcinosis",
            "foot",
        ),
        ("How is Charcot foot diagnosed?", QuestionType.DIAGNOSIS, "charcot foot", ""),
        ("What is myositis ossificans?", QuestionType.DEFINITION, "myositis ossificans", ""),
        (
            "What are the complications of a DMMO?",
            QuestionType.DEFINITION,
            "distal minimally invasive metatarsal osteotomy",
            "",
        ),
    ],
)
def test_question_type_condition_and_site(
    question: str, qtype: QuestionType, concept: str, site: str
) -> None:
    frame = analyse(question, load_vocabulary())
    assert frame.qtype is qtype
    assert concept in [c.name for c in frame.concepts]
    assert frame.site == site


def test_versus_question_has_two_conditions_and_keeps_the_patient_context() -> None:
    frame = analyse(
        "How to differentiate and manage osteomyelitis versus heterotopic ossification "
        "in a patient with a transmetatarsal amputation?",
        load_vocabulary(),
    )
    assert frame.qtype is QuestionType.DIFFERENTIAL
    assert frame.conditions == ("osteomyelitis", "heterotopic ossification")
    assert frame.context == "in a patient with a transmetatarsal amputation"


def test_synonyms_and_subtypes_count_as_the_condition() -> None:
    terms = analyse("Treatment of calcium deposits in the forefoot", load_vocabulary())
    names = terms.condition_terms()
    assert "calcific periarthritis" in names  # a subtype
    assert "calcinosis" in names  # a synonym
