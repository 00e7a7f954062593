"""Articles composed on the relevance model: they lead with what answers the question.

Each case is a failure a clinician saw when the bottom line and the sections were chosen
by cue words: a bottom line about how a guideline was written, half of a two-part
question left out, a follow-up whose modifier changed nothing, a patient view that led
with a placeholder, a medicine filed under surgery, everyday questions refused.
"""

from __future__ import annotations

import re

import pytest

from evident.app import App
from evident.compose.article import title_for
from evident.compose.followup import resolve
from evident.compose.question import analyse
from evident.models import Article, Audience

SEED_000 = "What is the treatment for soft tissue calcifications near the metatarsal head?"
SEED_001 = "Management of non-specific calcifications in the soft tissue of the inferior right calf"
SEED_004 = (
    "How to differentiate and manage osteomyelitis versus heterotopic ossification "
    "in a patient with a transmetatarsal amputation?"
)


def bottom(article: Article) -> str:
    return " ".join(s.text for s in article.bottom_line)


def everything(article: Article) -> str:
    return " ".join(s.text for s in article.statements())


def test_charcot_bottom_line_says_how_it_is_treated(demo_app: App) -> None:
    article = demo_app.ask(
        "What is the treatment for acute Charcot foot in a patient with diabetes?"
    )
    assert not article.abstained
    # The library's answer is offloading and immobilisation in a total-contact cast; the
    # old lead was a sentence about how the guideline was written.
    assert re.search(r"cast|offload|immobilis", bottom(article), re.I), bottom(article)
    assert not re.search(r"was informed by|systematic review", bottom(article), re.I)


def test_insertional_achilles_bottom_line_is_a_treatment(demo_app: App) -> None:
    article = demo_app.ask("What is the treatment for insertional Achilles tendinopathy?")
    lead = article.bottom_line[0].text
    assert not re.search(r"poorly studied|was designed", lead, re.I), lead
    assert re.search(r"load|exercis|heel|shoe|eccentric|managed", lead, re.I), lead


def test_two_part_question_answers_both_parts(demo_app: App) -> None:
    article = demo_app.ask(SEED_004)
    lead = bottom(article)
    assert re.search(r"osteomyelitis", lead, re.I), lead
    assert re.search(r"heterotopic ossification", lead, re.I), lead
    # The library's heterotopic-ossification management (indomethacin, radiation,
    # excision) is in the article, not only found by search.
    assert re.search(r"indomethacin|radiation|radiotherap|excis|resect", everything(article), re.I)


def test_follow_up_modifier_changes_what_leads(demo_app: App) -> None:
    question = resolve("What if there is infection?", SEED_000, demo_app.vocabulary)
    article = demo_app.ask(question)
    assert re.search(r"infect|septic|osteomyelitis", bottom(article), re.I), bottom(article)
    first = demo_app.ask(SEED_000)
    assert bottom(first) != bottom(article)


def test_patient_view_leads_with_a_quoted_statement(demo_app: App) -> None:
    article = demo_app.ask(SEED_004, audience=Audience.PATIENT)
    main = article.bottom_line[0]
    assert not main.generated, main.text
    assert main.citations and main.citations[0].quote == main.text
    for section in article.sections:
        if section.group != "red_flags":
            continue
        for statement in section.statements:
            # A sentence that rules a sign out describes the benign case.
            assert not re.search(
                r"\b(?:no|without|absence of|not)\b[^.]{0,30}\b(?:fever|redness|sepsis|septic)",
                statement.text,
                re.I,
            ), statement.text


def test_gout_glucocorticoids_are_not_a_surgical_step(demo_app: App) -> None:
    article = demo_app.ask("What is the treatment for a gout flare at the big toe joint?")
    for section in article.sections:
        if "surgery" in section.heading.lower():
            for statement in section.statements:
                assert "glucocorticoid" not in statement.text.lower(), statement.text


def test_calf_question_states_the_sarcoma_red_flags(demo_app: App) -> None:
    article = demo_app.ask(SEED_001)
    text = everything(article)
    assert re.search(r"5\s*cm", text), text
    assert re.search(r"deep|fascia", text, re.I)


TITLES = {
    "How is acute Charcot foot diagnosed and treated in a patient with diabetes?": (
        "How Is Acute Charcot Foot Diagnosed and Treated in a Patient with Diabetes?"
    ),
    "what helps heel pain in the morning": "What Helps Heel Pain in the Morning?",
    "What are the complications of a distal minimally invasive metatarsal osteotomy?": (
        "What Are the Complications of a Distal Minimally Invasive Metatarsal Osteotomy?"
    ),
    "gout flare what to do": "Gout Flare What to Do?",
    SEED_000: "Treatment of Soft Tissue Calcifications near the Metatarsal Head",
}


@pytest.mark.parametrize(("question", "title"), sorted(TITLES.items()))
def test_titles_keep_the_question_whole(demo_app: App, question: str, title: str) -> None:
    assert title_for(analyse(question, demo_app.vocabulary)) == title


# Asked as patients write: no "treatment of X" frame, lower case, a typo, a drug.
EVERYDAY = [
    "my big toe joint is red hot and swollen what do i do",
    "how do i look after my feet if i have diabetes",
    "can i keep running with achilles tendonitis",
    "what causes a hard lump under the ball of my foot",
    "achiles tendon pain at the back of the heel treatment",
]


@pytest.mark.parametrize("question", EVERYDAY)
def test_everyday_questions_about_covered_conditions_are_answered(
    demo_app: App, question: str
) -> None:
    article = demo_app.ask(question)
    assert not article.abstained, article.abstain_reason
    assert not article.title.startswith("Not Enough Evidence")
    assert all(s.citations for s in article.statements())


def test_a_question_that_asks_two_things_is_read_one_thing_at_a_time() -> None:
    from evident.compose.article import question_variants

    assert question_variants("How is acute Charcot foot diagnosed and treated in diabetes?") == [
        "How is acute Charcot foot diagnosed in diabetes?",
        "How is acute Charcot foot treated in diabetes?",
    ]
    assert question_variants("How to differentiate and manage osteomyelitis?") == [
        "How to differentiate osteomyelitis?",
        "How to manage osteomyelitis?",
    ]
    assert question_variants("What is the treatment for gout and pseudogout?") == [
        "What is the treatment for gout and pseudogout?"
    ]
