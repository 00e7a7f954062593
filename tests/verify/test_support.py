"""The verify stage keeps only statements their citations support, and says why."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from evident.models import (
    Article,
    ArticleSection,
    Chunk,
    Citation,
    DocumentKind,
    DocumentMeta,
    QuestionType,
    Reference,
    Statement,
)
from evident.verify.model import ClaimSupportModel
from evident.verify.support import coverage, judge, verify_article

PASSAGE = (
    "Acute calcific periarthritis of the first metatarsophalangeal joint usually settles "
    "within two weeks with rest, ice and an NSAID. Surgical excision is reserved for deposits "
    "that stay painful for months."
)
FIRST = PASSAGE.index(". ") + 1  # the end of the first sentence
MODEL = ClaimSupportModel()
CHUNK = Chunk(
    "c1", "d1", 0, "Treatment", PASSAGE, 0, len(PASSAGE), ((0, FIRST), (FIRST + 1, len(PASSAGE)))
)


def cite(start: int, end: int, text: str = PASSAGE) -> Citation:
    return Citation("c1", "d1", start, end, text[start:end])


def article(*statements: Statement) -> Article:
    return Article(
        question="q",
        title="t",
        question_type=QuestionType.TREATMENT,
        condition="c",
        bottom_line=(),
        sections=(ArticleSection("Treatment", statements),),
        references=(Reference("d1", "d1", DocumentMeta("Doc", DocumentKind.GUIDELINE)),),
        abstained=False,
        generated_at=datetime.now(UTC),
        library_version="1-x",
    )


def test_verbatim_quote_is_fully_supported() -> None:
    sentence = PASSAGE[:FIRST]
    assert judge(sentence, [PASSAGE], MODEL, 0.5).score == 1.0


def test_unrelated_statement_scores_low() -> None:
    assert coverage("Amoxicillin is first-line for acute otitis media in children.", PASSAGE) < 0.3


def test_supported_statements_stay_and_metrics_are_recorded() -> None:
    good = Statement(PASSAGE[:FIRST], (cite(0, FIRST),))
    result = verify_article(article(good), {"c1": CHUNK}, threshold=0.5, model=MODEL)
    assert result.statements() == [replace(good, support=1.0)]
    assert result.metrics["citation_recall"] == 1.0
    assert result.metrics["citation_precision"] == 1.0
    assert not result.removed


def test_unsupported_statement_is_removed_and_kept_in_the_record_with_reason() -> None:
    invented = Statement(
        "Amoxicillin cures calcific deposits in children within a day.", (cite(0, FIRST),)
    )
    good = Statement(PASSAGE[:FIRST], (cite(0, FIRST),))
    result = verify_article(article(good, invented), {"c1": CHUNK}, threshold=0.5, model=MODEL)
    assert [s.text for s in result.statements()] == [good.text]
    assert len(result.removed) == 1
    assert result.removed[0].statement.text == invented.text
    assert result.removed[0].reason.startswith(
        "the source does not say this: passage c1 does not support it (support "
    )
    assert result.metrics["citation_recall"] == 0.5


def test_citation_whose_quote_is_not_in_the_passage_is_rejected() -> None:
    forged = Citation("c1", "d1", 0, 10, "Something the passage never said")
    statement = Statement(PASSAGE[:FIRST], (forged,))
    result = verify_article(article(statement), {"c1": CHUNK}, threshold=0.5, model=MODEL)
    assert not result.statements()
    assert result.removed[0].reason == "no citation points at a library passage"


def test_citation_to_a_passage_outside_the_library_is_rejected() -> None:
    outside = Citation("zz", "dz", 0, 5, "Acute")
    result = verify_article(
        article(Statement("Acute calcific periarthritis.", (outside,))), {"c1": CHUNK}, 0.5, MODEL
    )
    assert not result.statements() and not result.references
