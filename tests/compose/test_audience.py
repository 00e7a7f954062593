"""Answers for each reader: the same evidence and citations, arranged and explained."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from evident.app import App
from evident.compose import phrasebook, render
from evident.compose.audience import (
    _MAX_EXPLAINED,
    DOSE,
    EDUCATION,
    TECHNIQUE,
    adapt,
    generated_text,
    is_warning,
    load_glossary,
)
from evident.compose.readability import reading_grade
from evident.index.vocab import load_vocabulary
from evident.models import (
    Article,
    Audience,
    Citation,
    DocumentMeta,
    QuestionType,
    Reference,
    Statement,
)
from evident.review.serialize import article_from_json, article_to_json

SEED_000 = "What is the treatment for soft tissue calcifications near the metatarsal head?"
GOUT_FLARE = "How is a gout flare treated?"


def spans(statements: list) -> set[tuple[str, int, int]]:  # type: ignore[type-arg]
    return {(c.chunk_id, c.start, c.end) for s in statements for c in s.citations}


def rendered_citations(article: Article) -> set[tuple[str, int, int]]:
    """Every citation span shown in the rendering (statements and pointers)."""
    return spans(article.statements())


@pytest.fixture(scope="module")
def seed_renderings(demo_app: App) -> dict[Audience, Article]:
    return {audience: demo_app.ask(SEED_000, audience) for audience in Audience}


def test_seed_000_keeps_every_citation_for_every_audience(
    seed_renderings: dict[Audience, Article],
) -> None:
    physician = seed_renderings[Audience.PHYSICIAN]
    assert not physician.abstained
    expected = rendered_citations(physician)
    physician_refs = {r["key"] for r in render.to_json(physician)["references"]}
    for audience, article in seed_renderings.items():
        assert not article.abstained, audience
        assert article.condition == physician.condition
        # Shown citations equal the physician's: moved, pointed to, never dropped.
        assert rendered_citations(article) == expected, audience
        data = render.to_json(article)
        assert {r["key"] for r in data["references"]} == physician_refs, audience
        markdown = render.to_markdown(article)
        html = render.to_html(article)
        for number in range(1, len(physician_refs) + 1):
            assert f"[{number}]" in markdown, (audience, number)
            assert f'href="#ref-{number}"' in html, (audience, number)
        # Quoted statements are the physician's sentences, word for word.
        quoted = {s.text for s in physician.statements()}
        for statement in article.statements():
            assert statement.generated or statement.text in quoted, statement.text
        assert data["audience"] == audience.value


def test_patient_rendering_reads_at_grade_8_and_holds_no_dose(
    seed_renderings: dict[Audience, Article],
) -> None:
    patient = seed_renderings[Audience.PATIENT]
    generated = generated_text(patient)
    assert len(generated) > 10  # headings, framing lines, lead-ins and explanations
    assert reading_grade(" ".join(generated)) <= 8.0
    assert patient.metrics["reading_grade_generated"] <= 8.0
    shown = [s.text for s in patient.statements()]
    assert not any(DOSE.search(text) for text in shown)
    assert not DOSE.search(" ".join(generated))
    markdown = render.to_markdown(patient)
    assert "## In short" in markdown
    assert markdown.index("## In short") < markdown.index("The main point:")
    # Medical words are explained where the reader first meets them, and only there.
    glossary = load_glossary()

    def glossed(statement: Statement) -> list[str]:
        forms = [written.lower() for written, _ in statement.explain]
        return [glossary.by_form[f].term for f in forms if f in glossary.by_form]

    quoted = [s for s in patient.statements() if not s.generated]
    explained = [term for s in quoted for term in glossed(s)]
    assert len(explained) == len(set(explained))
    # The bottom line's words are explained in reading order, up to the per-statement cap.
    met = list(dict.fromkeys(entry.term for _, entry in glossary.find(quoted[0].text)))
    assert met, "the bottom line should hold a medical word for this test to mean anything"
    assert glossed(quoted[0]) == met[:_MAX_EXPLAINED]
    assert "metatarsal head" in explained
    assert "*metatarsal head*: the end of a long foot bone" in markdown
    # Everyday headings replace the clinical ones.
    headings = {s.heading for s in patient.sections}
    assert "Treatment algorithm — step 1: conservative care" not in headings
    # The physician rendering is harder to read than the words we add for patients.
    assert patient.metrics["reading_grade_all"] > patient.metrics["reading_grade_generated"]


def test_patient_leaves_out_doses_but_keeps_their_citations_on_a_pointer(demo_app: App) -> None:
    physician = demo_app.ask(GOUT_FLARE)
    dosed = [s for s in physician.statements() if DOSE.search(s.text)]
    assert dosed, "the gout flare answer should quote a dose for this test to mean anything"
    patient = adapt(physician, Audience.PATIENT, demo_app.vocabulary)
    shown = patient.statements()
    assert not any(DOSE.search(s.text) for s in shown if not s.generated)
    omitted = {r.statement.text: r.reason for r in patient.omitted}
    for statement in dosed:
        assert "drug dose" in omitted[statement.text]
    pointers = [s for s in shown if s.generated]
    assert any(s.text == phrasebook.POINTERS["dose"] for s in pointers)
    assert spans(dosed) <= spans(pointers)
    assert rendered_citations(patient) == rendered_citations(physician)
    data = render.to_json(patient)
    assert {o["text"] for o in data["omitted"]} >= {s.text for s in dosed}
    markdown = render.to_markdown(patient)
    assert "Ask your doctor or pharmacist which dose is right for you." in markdown
    assert not DOSE.search(markdown.split("## References")[0])
    # Nothing is lost in the record: the stored form restores the omitted statements.
    assert article_from_json(article_to_json(patient)) == patient


# The relevance-model composer (issue 16) no longer quotes a warning sign or an HPO-explained
# term in these demo answers: a known regression, kept visible as strict expected failures
# until the composition ranks answers better (docs/models.md, relevance model).
def test_patient_warning_signs_come_first_when_the_evidence_has_them(demo_app: App) -> None:
    article = demo_app.ask(
        "What is the treatment for a painful calcium deposit in the foot?", Audience.PATIENT
    )
    assert not article.abstained
    first = article.sections[0]
    assert first.heading == phrasebook.RED_FLAG_HEADING[Audience.PATIENT]
    assert first.statements and all(is_warning(s.text) for s in first.statements)
    assert all(s.lead == phrasebook.LEADS["red_flag"] for s in first.statements)


def test_student_gets_definitions_and_the_reasoning_order(
    seed_renderings: dict[Audience, Article],
) -> None:
    student = seed_renderings[Audience.STUDENT]
    intros = [s.intro for s in student.sections if s.intro]
    assert intros and all(i.startswith(("Why", "Read")) for i in intros)
    assert any("Why this step: low-risk care" in i for i in intros)
    meanings = dict(e for s in student.statements() for e in s.explain)
    glossary = {e.term: e.short for e in load_glossary().entries}
    assert meanings and set(meanings.values()) <= set(glossary.values())


def test_nurse_sees_assessment_monitoring_and_escalation_first(
    seed_renderings: dict[Audience, Article],
) -> None:
    nurse = seed_renderings[Audience.NURSE]
    physician = seed_renderings[Audience.PHYSICIAN]
    first = nurse.sections[0]
    assert first.group == "red_flags" or "assessment" in first.heading.lower()
    assert first.intro
    order = [s.heading for s in nurse.sections]
    treatments = [i for i, h in enumerate(order) if h.startswith("Treatment algorithm")]
    assessments = [i for i, h in enumerate(order) if "assessment" in h.lower()]
    assert max(assessments) < min(treatments)
    assert [s.heading for s in physician.sections] != order


def test_nurse_gets_patient_education_points_gathered(demo_app: App) -> None:
    nurse = demo_app.ask("How is a diabetic foot ulcer treated?", Audience.NURSE)
    education = [s for s in nurse.sections if s.group == "education"]
    assert len(education) == 1 and education[0].heading == phrasebook.EDUCATION_HEADING
    assert all(EDUCATION.search(s.text) for s in education[0].statements)
    assert education[0].intro == phrasebook.INTROS[Audience.NURSE]["education"]
    physician = demo_app.ask("How is a diabetic foot ulcer treated?")
    assert rendered_citations(nurse) == rendered_citations(physician)


def test_abstention_is_kept_for_every_audience(demo_app: App) -> None:
    question = "What is the first-line treatment for acute otitis media in children?"
    for audience in Audience:
        article = demo_app.ask(question, audience)
        assert article.abstained and not article.statements()
    patient = demo_app.ask(question, Audience.PATIENT)
    assert phrasebook.ABSTAIN_NOTE in render.to_markdown(patient)


def test_every_patient_phrase_and_glossary_meaning_reads_at_grade_8() -> None:
    phrases = phrasebook.patient_phrases()
    meanings = [e.plain for e in load_glossary().entries]
    for text in phrases + meanings:
        # FK is unstable on a handful of words; short phrases count in the whole below.
        if len(text.split()) >= 6:
            assert reading_grade(text) <= 8.0, text
    assert reading_grade(". ".join(phrases + meanings) + ".") <= 8.0
    headings = ". ".join(phrasebook.PATIENT_HEADINGS.values()) + "."
    assert reading_grade(headings) <= 8.0


def test_glossary_and_phrasebook_add_no_numbers_or_doses() -> None:
    texts = [*phrasebook.patient_phrases(), *phrasebook.PATIENT_HEADINGS.values()]
    for entry in load_glossary().entries:
        texts += [entry.plain, entry.short]
    for text in texts:
        assert not re.search(r"\d", text), text
        assert not DOSE.search(text) and not TECHNIQUE.search(text), text


def test_dose_technique_and_warning_patterns() -> None:
    assert DOSE.search("Colchicine 0.5 mg twice daily is used.")
    assert DOSE.search("Give 10 mg/kg once a day.")
    assert DOSE.search("Prednisolone 30 to 35 mg/day for 3 to 5 days.")
    assert not DOSE.search("Rest and ice for two weeks reduce pain.")
    assert TECHNIQUE.search("A dorsal incision is made over the joint.")
    assert TECHNIQUE.search("It is treated by debriding the tendon and reattaching it.")
    assert not TECHNIQUE.search("Excision is reserved for persistent symptoms.")
    assert is_warning("Fever with a foot wound needs urgent medical help.")
    assert is_warning("Contact the foot protection team urgently if the foot is hot.")
    assert not is_warning("Antibiotics may be used when there is no need for urgent drainage.")
    assert not is_warning("The immediate treatment of an inflamed joint is rest.")


def test_a_dosed_bottom_line_becomes_a_cited_pointer() -> None:
    citation = Citation("c1", "d" * 16, 0, 10, "0123456789")
    physician = Article(
        question="q",
        title="t",
        question_type=QuestionType.DRUG,
        condition="gout",
        bottom_line=(Statement("Colchicine 1 mg is given.", (citation,)),),
        sections=(),
        references=(Reference("d" * 10, "d" * 16, DocumentMeta("A gout guideline")),),
        abstained=False,
        generated_at=datetime(2026, 1, 1, tzinfo=UTC),
        library_version="v",
    )
    patient = adapt(physician, Audience.PATIENT)
    assert [s.generated for s in patient.bottom_line] == [True]
    assert patient.bottom_line[0].citations == (citation,)
    data = render.to_json(patient)
    assert data["bottom_line"][0]["generated"] is True
    assert data["bottom_line"][0]["citations"] == ["d" * 10]
    assert data["omitted"] == [
        {
            "text": "Colchicine 1 mg is given.",
            "reason": phrasebook.OMITTED_REASON["dose"],
            "citations": ["d" * 10],
        }
    ]
    assert json.dumps(data)


def test_hpo_layperson_synonyms_explain_terms_when_configured(
    shared_data, seed_renderings: dict[Audience, Article]
) -> None:  # type: ignore[no-untyped-def]
    hpo = shared_data / "vocab" / "hpo" / "hp.obo.gz"
    if not hpo.exists():
        pytest.skip(f"HPO file not found at {hpo}")
    vocabulary = load_vocabulary((hpo,))
    physician = seed_renderings[Audience.PHYSICIAN]
    with_hpo = adapt(physician, Audience.PATIENT, vocabulary)
    lay = [m for s in with_hpo.statements() for _, m in s.explain if m.startswith("in everyday")]
    assert lay, "HPO layperson synonyms should explain at least one term"
    concepts = [c for c in vocabulary.concepts.values() if c.lay]
    lay_names = {t.lower() for c in concepts for t in c.lay}
    assert all(m.removeprefix("in everyday words, ") in lay_names for m in lay)
