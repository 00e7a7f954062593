"""Sentence splitting and passage cutting: offsets always point back at the source text."""

from __future__ import annotations

import itertools
import time

import pytest

from evident.ingest.chunk import MAX_LINE_CHARS, chunk_document, split_sentences
from evident.ingest.readers.base import join_sections
from evident.models import DocumentMeta, ParsedDocument


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


@pytest.mark.parametrize(
    "sentence",
    [
        "NSAIDs, e.g. naproxen, relieve pain within days.",
        "Smith et al. found benefit in older adults.",
        "Colchicine vs. placebo reduced pain at 24 hours.",
        "Give amoxicillin 500 mg t.i.d. for five days.",
        "Ceftriaxone 2 g i.v. daily is an alternative.",
        "The dose-response curve is shown in Fig. 2 of the report.",
        "Compare with prednisolone, i.e. an oral corticosteroid, at 30 mg.",
        "Smith et al. Found benefit in older adults.",
    ],
)
def test_clinical_abbreviations_do_not_end_a_sentence(sentence: str) -> None:
    text = f"Gout is common. {sentence} Review after one week."

    assert sentences(text) == ["Gout is common.", sentence, "Review after one week."]


def test_spans_are_trimmed_offsets_into_the_text() -> None:
    text = "  First sentence here.   Second one follows.  \n\n  Third on a new line.  "

    spans = split_sentences(text)

    assert [text[s:e] for s, e in spans] == [
        "First sentence here.",
        "Second one follows.",
        "Third on a new line.",
    ]
    assert spans == sorted(spans)


def test_list_items_and_lines_are_separate_sentences() -> None:
    text = (
        "Treatment options\n"
        "- colchicine within 12 hours\n"
        "- an NSAID such as naproxen\n"
        "1. oral prednisolone\n"
        "2) intra-articular corticosteroid\n"
        "A heading without a full stop\n"
        "A closing sentence."
    )

    assert sentences(text) == [
        "Treatment options",
        "- colchicine within 12 hours",
        "- an NSAID such as naproxen",
        "1. oral prednisolone",
        "2) intra-articular corticosteroid",
        "A heading without a full stop",
        "A closing sentence.",
    ]


def test_blank_text_has_no_sentences() -> None:
    assert split_sentences("") == []
    assert split_sentences(" \n\n \t \n") == []


def parsed(parts: list[tuple[str, str]]) -> ParsedDocument:
    text, sections = join_sections(parts)
    return ParsedDocument(text=text, meta=DocumentMeta(title="t"), sections=sections, format="md")


SENTENCE = "Eccentric calf loading for twelve weeks reduced Achilles tendon pain in adults."
DOC = parsed(
    [
        ("Background", " ".join([SENTENCE] * 6)),
        ("Methods", "Adults were randomised, e.g. by computer, to loading vs. waiting."),
        ("Results", " ".join([SENTENCE] * 25) + "\n- Pain fell.\n- Function rose."),
        ("Results > Harms", "No serious harms were reported."),
        (
            "Discussion",
            "One very long sentence with no stop at all " + "and more words " * 200 + "end.",
        ),
    ]
)


@pytest.mark.parametrize(("target", "maximum"), [(900, 1400), (200, 300), (60, 120)])
def test_passages_point_back_at_the_document(target: int, maximum: int) -> None:
    chunks = chunk_document(DOC, "doc1", target, maximum)

    assert chunks
    for number, c in enumerate(chunks):
        assert DOC.text[c.start : c.end] == c.text
        assert c.ordinal == number
        assert c.document_id == "doc1"
        assert len(c.text) <= maximum
        assert c.text == c.text.strip()


@pytest.mark.parametrize(("target", "maximum"), [(900, 1400), (200, 300), (60, 120)])
def test_passages_never_cross_a_section_boundary(target: int, maximum: int) -> None:
    chunks = chunk_document(DOC, "doc1", target, maximum)
    headings = {s.heading: s for s in DOC.sections}

    for c in chunks:
        section = headings[c.section]
        assert section.start <= c.start < c.end <= section.end
    assert {c.section for c in chunks} == set(headings)
    # Passages are in document order and do not overlap.
    for before, after in itertools.pairwise(chunks):
        assert before.end <= after.start


@pytest.mark.parametrize(("target", "maximum"), [(900, 1400), (200, 300), (60, 120)])
def test_sentence_offsets_lie_inside_the_passage(target: int, maximum: int) -> None:
    for c in chunk_document(DOC, "doc1", target, maximum):
        assert c.sentences
        assert c.sentences[0][0] == 0
        assert c.sentences[-1][1] == len(c.text)
        previous_end = 0
        for s, e in c.sentences:
            assert previous_end <= s < e <= len(c.text)
            assert c.text[s:e] == c.text[s:e].strip()
            previous_end = e


def test_short_sections_make_one_passage_each_with_whole_sentences() -> None:
    chunks = chunk_document(DOC, "doc1")
    methods = [c for c in chunks if c.section == "Methods"]

    assert [c.text for c in methods] == [
        "Adults were randomised, e.g. by computer, to loading vs. waiting."
    ]
    assert methods[0].sentences == ((0, len(methods[0].text)),)


def test_passages_cover_every_sentence() -> None:
    chunks = chunk_document(DOC, "doc1", 200, 300)
    covered = "".join(c.text for c in chunks)
    body = "".join(DOC.text[s.start : s.end] for s in DOC.sections)

    assert "".join(covered.split()) == "".join(body.split())


def test_chunk_ids_are_stable_and_distinct() -> None:
    first = chunk_document(DOC, "doc1", 200, 300)
    again = chunk_document(DOC, "doc1", 200, 300)
    other_doc = chunk_document(DOC, "doc2", 200, 300)

    assert [c.chunk_id for c in first] == [c.chunk_id for c in again]
    assert len({c.chunk_id for c in first}) == len(first)
    assert not {c.chunk_id for c in first} & {c.chunk_id for c in other_doc}


def test_document_without_sections_is_one_section() -> None:
    text = "Heel pain usually improves. See a doctor if the heel is hot and swollen."
    doc = ParsedDocument(text=text, meta=DocumentMeta(title="t"), sections=(), format="text")

    [chunk] = chunk_document(doc, "doc1")

    assert (chunk.section, chunk.start, chunk.end, chunk.text) == ("", 0, len(text), text)
    assert len(chunk.sentences) == 2


@pytest.mark.parametrize(
    "text",
    [
        " ".join(f"word{n % 97}" for n in range(20_000)),  # 128 KB, words, no sentence end
        "x" * 131_072,  # 128 KB, no space at all
        "gout, " * 21_845,  # 128 KB of commas
    ],
    ids=["words", "one-token", "commas"],
)
def test_sentence_splitting_is_fast_on_text_with_no_sentence_ends(text: str) -> None:
    started = time.perf_counter()

    spans = split_sentences(text)

    assert time.perf_counter() - started < 5.0  # was 63 s for the 128 KB of words
    assert all(e - s <= MAX_LINE_CHARS for s, e in spans)
    # Nothing is lost: the pieces, in order, hold every character but the spaces between.
    assert "".join(text[s:e] for s, e in spans).replace(" ", "") == text.replace(" ", "")


def test_a_long_paragraph_is_cut_at_sentence_ends() -> None:
    sentence = "Colchicine relieves the pain of a gout flare within a day. "
    text = (sentence * 100).strip()  # about 5,900 characters on one line

    assert sentences(text) == [sentence.strip()] * 100
