"""Reading a question: its type, the condition it asks about, the body site and context."""

from __future__ import annotations

import pytest

from evident.compose.article import title_for
from evident.compose.question import analyse
from evident.index.vocab import load_vocabulary, mentions
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


@pytest.mark.parametrize(
    ("question", "subject"),
    [
        ("Describe the 4D-CHAINS algorithm", "4D-CHAINS algorithm"),
        ("What is the mechanism of action of Toripalimab?", "Toripalimab"),
        ("Describe the role of bevacizumab in radiosurgery", "bevacizumab in radiosurgery"),
        ("What is the aim of the METABRIC project?", "METABRIC project"),
    ],
)
def test_framing_words_are_not_part_of_an_unknown_subject(question: str, subject: str) -> None:
    frame = analyse(question, load_vocabulary())
    assert frame.concepts == ()
    assert frame.conditions == (subject,)


def test_a_sentence_is_about_an_unknown_subject_when_it_names_most_of_it() -> None:
    frame = analyse("Describe the role of bevacizumab in radiosurgery for AVM", load_vocabulary())
    terms = frame.condition_terms()
    assert mentions("Bevacizumab reduced oedema after radiosurgery.", terms)
    # One word of the subject is not enough: this sentence is about something else.
    assert not mentions("Radiosurgery obliterated most malformations.", terms)
    assert mentions(
        "Toripalimab blocks PD-1.",
        analyse("What is Toripalimab?", load_vocabulary()).condition_terms(),
    )


@pytest.mark.parametrize(
    ("question", "title", "condition"),
    [
        (
            "When is surgery considered in gout flare?",
            "When Is Surgery Considered in Gout Flare?",
            "gout",
        ),
        (
            "Does exercise help Achilles tendinopathy?",
            "Does Exercise Help Achilles Tendinopathy?",
            "achilles tendinopathy",
        ),
        # Nothing in it the vocabulary knows: the phrase stays the condition.
        (
            "Is MEF2C associated with developmental disorders?",
            "Is MEF2C Associated with Developmental Disorders?",
            "Is MEF2C associated with developmental disorders",
        ),
        # A question with a frame keeps the "treatment of X" heading.
        (
            "What is the treatment for soft tissue calcifications near the metatarsal head?",
            "Treatment of Soft Tissue Calcifications near the Metatarsal Head",
            "soft tissue calcifications",
        ),
    ],
)
def test_a_yes_no_or_when_question_is_its_own_title(
    question: str, title: str, condition: str
) -> None:
    frame = analyse(question, load_vocabulary(()))

    assert title_for(frame) == title
    assert frame.condition == condition


@pytest.mark.parametrize("group", ["pregnancy", "older adults", "infants", "adolescents"])
def test_a_patient_group_is_context_not_a_body_site(group: str) -> None:
    frame = analyse(f"What is the treatment for gout in {group}?", load_vocabulary(()))

    assert frame.site == ""
    assert frame.context == f"in {group}"
    assert frame.condition == "gout"


@pytest.mark.parametrize(
    ("question", "title"),
    [
        ("What is the treatment for gout in pregnancy?", "Treatment of Gout in Pregnancy"),
        (
            "How is plantar fasciitis diagnosed in athletes?",
            "Diagnosis and Work-up of Plantar Fasciitis in Athletes",
        ),
    ],
)
def test_the_title_names_the_patient_group_asked_about(question: str, title: str) -> None:
    assert title_for(analyse(question, load_vocabulary(()))) == title
