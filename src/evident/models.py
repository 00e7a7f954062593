"""Domain types shared by every stage. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class DocumentKind(StrEnum):
    """The kind of evidence a document is, strongest first."""

    GUIDELINE = "guideline"
    SYSTEMATIC_REVIEW = "systematic_review"
    RANDOMISED_TRIAL = "randomised_trial"
    OBSERVATIONAL = "observational"
    CASE_REPORT = "case_report"
    NARRATIVE_REVIEW = "narrative_review"
    TEXTBOOK = "textbook"
    PATIENT_INFORMATION = "patient_information"
    UNKNOWN = "unknown"


class ReferenceGroup(StrEnum):
    """How references are grouped in an article, in display order."""

    GUIDELINE = "Guideline"
    RESEARCH = "Research"
    TEXTBOOK = "Textbook"
    PATIENT_INFORMATION = "Patient information"


def reference_group(kind: DocumentKind) -> ReferenceGroup:
    """Return the reference-list group a document kind belongs to."""
    if kind is DocumentKind.GUIDELINE:
        return ReferenceGroup.GUIDELINE
    if kind is DocumentKind.TEXTBOOK:
        return ReferenceGroup.TEXTBOOK
    if kind is DocumentKind.PATIENT_INFORMATION:
        return ReferenceGroup.PATIENT_INFORMATION
    return ReferenceGroup.RESEARCH


class IngestStatus(StrEnum):
    ADDED = "added"
    UNCHANGED = "unchanged"
    DUPLICATE = "duplicate"
    FAILED = "failed"


class ReviewStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    PUBLISHED = "published"
    SUPERSEDED = "superseded"
    RETRACTED = "retracted"


class QuestionType(StrEnum):
    TREATMENT = "treatment"
    DIAGNOSIS = "diagnosis"
    DIFFERENTIAL = "differential"
    PROGNOSIS = "prognosis"
    DRUG = "drug"
    DEFINITION = "definition"
    PREVENTION = "prevention"


class Audience(StrEnum):
    PHYSICIAN = "physician"
    NURSE = "nurse"
    STUDENT = "student"
    PATIENT = "patient"


@dataclass(frozen=True, slots=True)
class DocumentMeta:
    """Bibliographic and evidence metadata, as read from a source.

    source: issuing organisation (guidelines) or journal (articles).
    grade: recommendation strength or evidence grade where the source states it.
    conditions: condition names the document is about, where the source lists them.
    kind_inferred: True when kind was guessed from the text rather than stated.
    """

    title: str
    kind: DocumentKind = DocumentKind.UNKNOWN
    source: str = ""
    year: int | None = None
    authors: tuple[str, ...] = ()
    pmid: str | None = None
    doi: str | None = None
    url: str | None = None
    licence: str | None = None
    grade: str | None = None
    conditions: tuple[str, ...] = ()
    kind_inferred: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SourceSection:
    """A headed span of a document's normalised text (offsets into that text)."""

    heading: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class ParsedDocument:
    """What a reader returns: normalised text, its sections and its metadata."""

    text: str
    meta: DocumentMeta
    sections: tuple[SourceSection, ...]
    format: str


@dataclass(frozen=True, slots=True)
class Document:
    """A document held in the library.

    document_id: hash of the normalised text, so the same content is one document.
    origin: the path or dataset record it came from.
    """

    document_id: str
    meta: DocumentMeta
    text: str
    format: str
    origin: str
    ingested_at: datetime


@dataclass(frozen=True, slots=True)
class Chunk:
    """A retrievable passage.

    start, end: character offsets of the passage in its document's text.
    sentences: (start, end) offsets of each sentence, relative to the passage text.
    """

    chunk_id: str
    document_id: str
    ordinal: int
    section: str
    text: str
    start: int
    end: int
    sentences: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class Hit:
    """A retrieved chunk with its document, fused score and each retriever's rank.

    ranks: retriever name -> 1-based rank (absent when that retriever missed it).
    relevance: the relevance model's probability that the passage answers the question,
        when it was reranked (None when it was not scored).
    """

    chunk: Chunk
    document: DocumentMeta
    document_id: str
    score: float
    ranks: dict[str, int]
    relevance: float | None = None


@dataclass(frozen=True, slots=True)
class Filters:
    """Restrict retrieval to some kinds of evidence and a range of years.

    year_to excludes documents without a year; year_from does too (their year is 0).
    """

    kinds: tuple[DocumentKind, ...] = ()
    year_from: int | None = None
    year_to: int | None = None

    @property
    def empty(self) -> bool:
        return not self.kinds and self.year_from is None and self.year_to is None

    def admits(self, kind: DocumentKind | str, year: int | None) -> bool:
        """Return True if a passage of this kind and year passes the filters."""
        if self.kinds and kind not in self.kinds:
            return False
        if self.year_from is not None and (year or 0) < self.year_from:
            return False
        return self.year_to is None or 0 < (year or 0) <= self.year_to


@dataclass(frozen=True, slots=True)
class IndexedPassage:
    """A passage as a search index holds it.

    text: what it is indexed under (document title, section heading, passage text).
    year: the document's year, 0 when unknown.
    vector: its unit embedding (float32 or float16), None when not embedded yet.
    """

    chunk_id: str
    document_id: str
    text: str
    kind: DocumentKind
    year: int
    vector: Any = None


@dataclass(frozen=True, slots=True)
class Citation:
    """Evidence for a statement: a span of a passage and the quoted text.

    start, end: offsets into the passage (chunk) text.
    """

    chunk_id: str
    document_id: str
    start: int
    end: int
    quote: str


@dataclass(frozen=True, slots=True)
class Statement:
    """One sentence of an article with the evidence that supports it.

    support: the verify stage's score for the statement (1.0 for a verbatim quote).
    indirect: True when the evidence is about a neighbouring condition and says so.
    lead: a plain-language lead-in from the fixed phrasebook, shown before the quote.
    explain: (term, meaning) for words this statement uses first, from our glossary.
    generated: True for fixed wording evident wrote, never a quote: a pointer that
        stands in for statements left out for the reader, carrying their citations.
    """

    text: str
    citations: tuple[Citation, ...]
    support: float = 1.0
    indirect: bool = False
    lead: str = ""
    explain: tuple[tuple[str, str], ...] = ()
    generated: bool = False


@dataclass(frozen=True, slots=True)
class ArticleSection:
    """A headed list of statements. group is "guidelines", "research" or "".

    intro: a line from the fixed phrasebook that frames the section for the reader.
    """

    heading: str
    statements: tuple[Statement, ...]
    group: str = ""
    intro: str = ""


@dataclass(frozen=True, slots=True)
class Reference:
    """A library document cited by an article. key is stable; numbers come at display."""

    key: str
    document_id: str
    meta: DocumentMeta


@dataclass(frozen=True, slots=True)
class RemovedStatement:
    """A statement the verify stage left out of the rendered article, and why."""

    statement: Statement
    reason: str


@dataclass(frozen=True, slots=True)
class Article:
    """A composed answer.

    searched: the queries that were run, shown when the article abstains.
    removed: statements dropped by verification (kept for the record).
    omitted: statements left out of this audience's rendering (doses and surgical
        technique for patients); their citations stay on the pointer that replaces them.
    metrics: per-article verification figures (citation recall and precision).
    composer: "extractive" (quoted library sentences) or "llm" (written by a language model
        and verified statement by statement).
    fallback: why a configured language model's draft was not used ("" when it was, or
        when none is configured).
    """

    question: str
    title: str
    question_type: QuestionType
    condition: str
    bottom_line: tuple[Statement, ...]
    sections: tuple[ArticleSection, ...]
    references: tuple[Reference, ...]
    abstained: bool
    generated_at: datetime
    library_version: str
    audience: Audience = Audience.PHYSICIAN
    status: ReviewStatus = ReviewStatus.DRAFT
    abstain_reason: str = ""
    searched: tuple[str, ...] = ()
    suggestions: tuple[str, ...] = ()
    removed: tuple[RemovedStatement, ...] = ()
    omitted: tuple[RemovedStatement, ...] = ()
    metrics: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    composer: str = "extractive"
    fallback: str = ""

    def statements(self) -> list[Statement]:
        """Return every rendered statement, bottom line first."""
        out = list(self.bottom_line)
        for section in self.sections:
            out.extend(section.statements)
        return out


@dataclass(frozen=True, slots=True)
class IngestResult:
    """The outcome for one input (a file or a dataset record)."""

    origin: str
    status: IngestStatus
    document_id: str | None = None
    title: str = ""
    reason: str = ""
    chunks: int = 0


@dataclass(frozen=True, slots=True)
class IngestReport:
    results: tuple[IngestResult, ...]

    def count(self, status: IngestStatus) -> int:
        return sum(1 for r in self.results if r.status is status)

    @property
    def failed(self) -> list[IngestResult]:
        return [r for r in self.results if r.status is IngestStatus.FAILED]


@dataclass(frozen=True, slots=True)
class StatementShown:
    """An ask stream event: a statement that passed verification and can be shown.

    part: "bottom_line" or "section"; section: the section's index and heading.
    """

    statement: Statement
    part: str
    section: int = 0
    heading: str = ""


@dataclass(frozen=True, slots=True)
class StatementDropped:
    """An ask stream event: a generated statement verification rejected, and why."""

    text: str
    reason: str


@dataclass(frozen=True, slots=True)
class FellBack:
    """An ask stream event: the model's draft is not used (statements shown so far are
    withdrawn); the extractive article follows."""

    reason: str


@dataclass(frozen=True, slots=True)
class ArticleReady:
    """The last ask stream event: the finished, verified article."""

    article: Article


AskEvent = StatementShown | StatementDropped | FellBack | ArticleReady
