"""Answer articles on the demo library: the seed questions, condition match, abstention."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from evident.app import App
from evident.compose import render
from evident.compose.question import analyse
from evident.errors import InvalidInput
from evident.index.vocab import mentions
from evident.models import Article, DocumentKind, ReferenceGroup, reference_group

SEED_QUESTIONS = {
    "000": "What is the treatment for soft tissue calcifications near the metatarsal head?",
    "001": (
        "Management of non-specific calcifications in the soft tissue of the inferior right calf"
    ),
    "003": "Initial management of small heterotopic ossification in the Achilles tendon",
    "004": (
        "How to differentiate and manage osteomyelitis versus heterotopic ossification "
        "in a patient with a transmetatarsal amputation?"
    ),
}
OUT_OF_LIBRARY = "What is the first-line treatment for acute otitis media in children?"


def assert_traceable(app: App, article: Article) -> None:
    """Every statement is cited, every quote is in a library passage, no outside reference."""
    library_ids = {doc_id for doc_id, _, _ in app.store.list_documents()}
    keys = {r.key for r in article.references}
    for statement in article.statements():
        assert statement.citations, f"uncited statement: {statement.text}"
        for citation in statement.citations:
            chunk = app.store.get_chunks([citation.chunk_id])[citation.chunk_id]
            assert chunk.text[citation.start : citation.end] == citation.quote
            assert citation.document_id in library_ids
            assert citation.document_id[:10] in keys
    assert {r.document_id for r in article.references} <= library_ids


def assert_on_condition(app: App, article: Article) -> None:
    """Each statement names the condition, or comes from a document about it."""
    frame = analyse(article.question, app.vocabulary)
    terms = frame.condition_terms()
    metas = app.store.document_metas()
    for statement in article.statements():
        for citation in statement.citations:
            meta = metas[citation.document_id]
            about = mentions(meta.title, terms) or any(mentions(c, terms) for c in meta.conditions)
            assert about or mentions(citation.quote, terms), (
                f"{citation.quote!r} from {meta.title!r} is not about {frame.condition}"
            )


@pytest.mark.parametrize("seed", sorted(SEED_QUESTIONS))
def test_seed_question_gets_a_cited_structured_article(demo_app: App, seed: str) -> None:
    article = demo_app.ask(SEED_QUESTIONS[seed])
    assert not article.abstained, article.abstain_reason
    assert article.bottom_line
    assert len(article.sections) >= 3, [s.heading for s in article.sections]
    assert article.references
    assert_traceable(demo_app, article)
    assert_on_condition(demo_app, article)


def test_calcification_answer_does_not_cite_the_diabetic_ulcer_guideline(demo_app: App) -> None:
    # The service in the seeds answered this with an ulcer-offloading guideline.
    article = demo_app.ask(SEED_QUESTIONS["000"])
    for ref in article.references:
        assert "offloading" not in ref.meta.title.lower() or "calcif" in ref.meta.title.lower()
    for statement in article.statements():
        assert "ulcer" not in statement.text.lower() or "calci" in statement.text.lower()


def test_differential_question_covers_both_conditions(demo_app: App) -> None:
    article = demo_app.ask(SEED_QUESTIONS["004"])
    text = " ".join(s.text.lower() for s in article.statements())
    assert "osteomyelitis" in text and "heterotopic ossification" in text


def test_question_outside_the_library_abstains(demo_app: App) -> None:
    article = demo_app.ask(OUT_OF_LIBRARY)
    assert article.abstained
    assert not article.statements() and not article.references
    assert "too little evidence" in article.abstain_reason
    assert OUT_OF_LIBRARY in article.searched
    assert any("guideline" in s for s in article.suggestions)
    assert "Not enough evidence" in render.to_markdown(article).replace(
        "Not Enough Evidence", "Not enough evidence"
    )


def test_every_article_carries_review_status_date_version_and_disclaimer(demo_app: App) -> None:
    article = demo_app.ask(SEED_QUESTIONS["003"])
    md = render.to_markdown(article)
    assert "Pending human review" in md
    assert article.library_version in md
    assert article.generated_at.strftime("%Y-%m-%d") in md
    assert render.DISCLAIMER in md


def test_a_model_written_article_does_not_claim_to_be_quotations(demo_app: App) -> None:
    written = replace(demo_app.ask(SEED_QUESTIONS["003"]), composer="llm")

    outputs = [
        render.to_markdown(written),
        render.to_html(written),
        render.to_terminal(written),
        render.to_json(written)["disclaimer"],
    ]

    for text in outputs:
        assert "assembles quotations" not in text
        assert "A language model wrote these statements" in " ".join(text.split())


def test_markdown_numbers_citations_by_first_use_and_groups_references(demo_app: App) -> None:
    article = demo_app.ask(SEED_QUESTIONS["000"])
    md = render.to_markdown(article)
    body, refs = md.split("## References", 1)
    marks = [int(m) for m in re.findall(r"\[(\d+)\]", body)]
    first_use = list(dict.fromkeys(marks))
    assert first_use == list(range(1, len(first_use) + 1))
    for line in body.splitlines():
        if line.startswith("- "):
            assert re.search(r"\[\d+\]$", line), f"bullet without a citation: {line}"
    numbered = render.number(article)
    order = [g for g, _ in numbered.groups]
    assert order == sorted(order, key=list(ReferenceGroup).index)
    for group, members in numbered.groups:
        assert f"**{group.value}**" in refs
        for number, ref in members:
            assert reference_group(ref.meta.kind) is group
            assert f"{number}. {ref.meta.title.rstrip('.')}" in refs


def test_guideline_and_research_evidence_are_separated(demo_app: App) -> None:
    article = demo_app.ask(SEED_QUESTIONS["004"])
    groups = [s.group for s in article.sections]
    kinds = {r.meta.kind for r in article.references}
    if DocumentKind.GUIDELINE in kinds and len(kinds) > 1:
        assert "guidelines" in groups and "research" in groups
        assert groups.index("guidelines") < groups.index("research")
        assert "## From the Guidelines" in render.to_markdown(article)


def test_json_schema_has_the_documented_fields(demo_app: App) -> None:
    data = render.to_json(demo_app.ask(SEED_QUESTIONS["000"]))
    json.dumps(data)  # serialisable
    assert data["schema"] == "evident.article/1"
    for key in (
        "title",
        "question",
        "bottom_line",
        "sections",
        "references",
        "status",
        "abstained",
        "generated_at",
        "library_version",
    ):
        assert key in data
    keys = {r["key"] for r in data["references"]}
    for section in data["sections"]:
        assert section["heading"] and section["statements"]
        for statement in section["statements"]:
            assert statement["text"] and set(statement["citations"]) <= keys
    for ref in data["references"]:
        for key in ("key", "document_id", "title", "kind", "source", "year", "pmid", "doi", "url"):
            assert key in ref
    assert data["status"] == "draft" and data["abstained"] is False


@pytest.mark.parametrize("question", ["", "   ", "???"])
def test_empty_question_is_refused_with_a_clear_message(demo_app: App, question: str) -> None:
    with pytest.raises(InvalidInput, match="type a clinical question"):
        demo_app.ask(question)


TORIPALIMAB = """---
title: Toripalimab for recurrent or metastatic nasopharyngeal carcinoma
kind: randomised_trial
year: 2021
source: "Test Journal of Oncology"
---
# Background
Toripalimab is a humanised IgG4 monoclonal antibody that binds the PD-1 receptor on T cells.
By blocking PD-1, toripalimab stops PD-L1 and PD-L2 on tumour cells from switching off
the T-cell response against the cancer.

# Results
Adding toripalimab to gemcitabine and cisplatin lengthened progression-free survival
compared with chemotherapy alone in the trial population.
"""


def test_a_subject_outside_the_vocabulary_is_answered_not_abstained(
    bm25_app: App, tmp_path: Path
) -> None:
    """BioASQ-style framing ("mechanism of action of X") must not hide the subject X."""
    (tmp_path / "toripalimab.md").write_text(TORIPALIMAB)
    assert not bm25_app.ingest([tmp_path / "toripalimab.md"]).failed
    bm25_app.refresh_index()
    article = bm25_app.ask("What is the mechanism of action of Toripalimab?")
    assert not article.abstained
    assert any("PD-1" in s.text for s in article.bottom_line)


# One person's story is true of that person, not an answer for the next patient.
ONE_PERSON = re.compile(
    r"^(the|a|an) (\d+-year-old )?(woman|man|girl|boy|patient|child)\b|\d+-year-old", re.I
)


@pytest.mark.parametrize(
    "question",
    [
        "How is calcific tendinitis near the first metatarsal head treated?",
        "What is the treatment for soft tissue calcifications near the metatarsal head?",
    ],
)
def test_a_case_report_about_one_person_is_not_quoted_as_a_statement(
    demo_app: App, question: str
) -> None:
    article = demo_app.ask(question)

    assert not article.abstained
    quoted = [s.text for s in article.statements()]
    assert not [t for t in quoted if ONE_PERSON.search(t)]


def ingest_texts(app: App, folder: Path, files: dict[str, str]) -> None:
    """Write Markdown files, ingest them and rebuild the index."""
    for name, text in files.items():
        (folder / name).write_text(text)
    assert not app.ingest([folder / name for name in files]).failed
    app.refresh_index()


GOUT_IN_KIDNEY_DISEASE = """---
title: Treating gout flares in people with kidney disease
kind: guideline
year: 2022
source: "Test Society of Nephrology"
---
# Treatment of flares
Gout flares in people on dialysis are treated with a short course of oral prednisolone,
because colchicine and anti-inflammatory drugs build up in kidney failure.
"""

GOUT_FLARES = """---
title: Gout flares in primary care
kind: narrative_review
year: 2021
source: "Test Journal of General Practice"
---
# Treatment of flares
Gout flares are treated with colchicine, an anti-inflammatory drug or a corticosteroid,
started as early as possible in the flare.
"""


def test_a_statement_about_another_patient_group_does_not_lead_the_answer(
    bm25_app: App, tmp_path: Path
) -> None:
    """A guideline on dialysis patients answers for them, not for every gout flare."""
    ingest_texts(
        bm25_app, tmp_path, {"kidney.md": GOUT_IN_KIDNEY_DISEASE, "flares.md": GOUT_FLARES}
    )

    general = bm25_app.ask("How are gout flares treated?")
    assert general.bottom_line[0].text.startswith("Gout flares are treated with colchicine")
    assert not any("dialysis" in s.text for s in general.bottom_line)
    assert any("dialysis" in s.text for s in general.statements()), "kept in the body"
    assert headings_of(general, "dialysis") == ["Special considerations"]

    asked = bm25_app.ask("How are gout flares treated in patients on dialysis?")
    assert "dialysis" in asked.bottom_line[0].text


def headings_of(article: Article, words: str) -> list[str]:
    """The headings of the sections that quote a statement containing these words."""
    return [sec.heading for sec in article.sections if any(words in s.text for s in sec.statements)]


TOPHACEOUS_GOUT = """---
title: Long-term care of tophaceous gout
kind: narrative_review
year: 2022
source: "Test Journal of Rheumatology"
---
# Long-term care
Tophaceous gout is treated with urate-lowering therapy to a serum urate target, not by
routine excision of the tophi.
"""


def test_a_statement_on_how_it_is_treated_is_not_filed_under_assessment(
    bm25_app: App, tmp_path: Path
) -> None:
    """Naming a serum target does not make a treatment statement an assessment."""
    ingest_texts(bm25_app, tmp_path, {"tophi.md": TOPHACEOUS_GOUT, "flares.md": GOUT_FLARES})

    article = bm25_app.ask("How is gout treated?")

    placed = headings_of(article, "urate-lowering therapy")
    leads = any("urate-lowering therapy" in s.text for s in article.bottom_line)
    # It answers the question, so it may lead; filed in a section, it is a treatment step.
    assert placed == ([] if leads else ["Treatment algorithm — step 1: conservative care"]), placed


GOUT_TIMING = """---
title: Timing of gout flare treatment
kind: narrative_review
year: 2021
source: "Test Journal of Rheumatology"
---
# Timing
Treatment of a gout flare works best when started within 24 hours of the first symptoms.
"""


def test_a_treatment_statement_that_fits_no_step_is_still_shown(
    bm25_app: App, tmp_path: Path
) -> None:
    """Keeping treatment statements out of Assessment must not drop one that fits nowhere else."""
    ingest_texts(bm25_app, tmp_path, {"timing.md": GOUT_TIMING, "flares.md": GOUT_FLARES})

    article = bm25_app.ask("How are gout flares treated?")

    leads = any("within 24 hours" in s.text for s in article.bottom_line)
    shown = headings_of(article, "within 24 hours")
    assert shown == ([] if leads else ["Assessment and initial management"]), shown


PLANTAR_FASCIITIS = """---
title: Assessing heel pain from plantar fasciitis
kind: narrative_review
year: 2020
source: "Test Journal of Podiatry"
---
# Assessment
Plantar fasciitis is assessed by examining the heel for tenderness where the plantar fascia
attaches to the calcaneus.
Assessment of plantar fasciitis includes a history of pain with the first steps in the
morning.
Examination in plantar fasciitis includes palpation of the medial calcaneal tubercle and
the fascia along the arch.
Assessment of plantar fasciitis records how far the person walks before the heel pain starts.
Plantar fasciitis with a hot, swollen heel and fever needs urgent assessment for infection.
"""


def test_a_full_section_keeps_its_warning_sign(bm25_app: App, tmp_path: Path) -> None:
    """A section that runs out of room drops an ordinary statement, never a red flag."""
    ingest_texts(bm25_app, tmp_path, {"heel.md": PLANTAR_FASCIITIS})
    bm25_app.settings.compose.bullets_per_section = 1

    article = bm25_app.ask("How is plantar fasciitis assessed?")

    assert not article.abstained
    quoted = [s.text for s in article.statements()]
    assert any("urgent assessment for infection" in t for t in quoted)
    assert len(quoted) < 5, "the section should be full for this test to mean anything"


GOUT_FIRST_TEST = """---
title: Diagnosing gout flares
kind: guideline
year: 2023
source: "Test Society of Rheumatology"
---
# Treatment of gout flares
For a suspected gout flare, the first test is joint aspiration to look for urate crystals
before any drug is started.
"""


def test_a_treatment_question_leads_with_how_it_is_treated(bm25_app: App, tmp_path: Path) -> None:
    """ "The first test is ..." answers part of a treatment question; the treatment leads."""
    ingest_texts(bm25_app, tmp_path, {"first-test.md": GOUT_FIRST_TEST, "flares.md": GOUT_FLARES})

    article = bm25_app.ask("How are gout flares treated?")

    assert article.bottom_line[0].text.startswith("Gout flares are treated with colchicine")
    assert any("first test" in s.text for s in article.statements())


GOUT_GUIDELINE_TWO_SECTIONS = """---
title: Treating gout flares
kind: guideline
year: 2024
source: "Test College of Rheumatology"
---
# Colchicine for gout flares
Gout flares are treated with low-dose colchicine, started within 12 hours of the flare.

# Corticosteroids for gout flares
Gout flares are treated with an oral corticosteroid when colchicine cannot be used.
"""


def gout_note(number: int) -> str:
    return f"""---
title: Gout note {number}
kind: narrative_review
year: 2019
---
# Gout flares
Gout flares were treated in clinic {number}. The clinic also saw many people with back
pain, knee pain, shoulder pain, headaches and dizziness during the years of its audit,
and its staff kept records of waiting times, referrals, missed appointments and the
languages spoken by the people who came to it.
"""


def test_an_article_reads_more_than_one_passage_of_its_best_document(
    bm25_app: App, tmp_path: Path
) -> None:
    """The search list spreads across documents; an article still reads the best one fully."""
    notes = {f"note-{n}.md": gout_note(n) for n in range(4)}
    ingest_texts(bm25_app, tmp_path, {"guideline.md": GOUT_GUIDELINE_TWO_SECTIONS} | notes)
    bm25_app.settings.compose.passages = 3

    searched = bm25_app.search("How are gout flares treated?", k=3)
    article = bm25_app.ask("How are gout flares treated?")

    assert len({h.document_id for h in searched}) == 3, "the search list spreads"
    quoted = " ".join(s.text for s in article.statements())
    assert "colchicine, started within 12 hours" in quoted
    assert "oral corticosteroid when colchicine cannot be used" in quoted
