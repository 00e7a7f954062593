"""Extractive article assembly: quote library sentences, sort them into sections, cite each."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from evident.compose.audience import is_warning
from evident.compose.question import QuestionFrame
from evident.compose.sections import (
    ANSWER_CUE,
    LEAD_CUE,
    SECTIONS,
    SPECIAL_HEADING,
    patient_groups,
    place,
)
from evident.config import ComposeSettings
from evident.index.lexical import tokenize
from evident.index.vocab import Term, mentions, term_key, words
from evident.models import (
    Article,
    ArticleSection,
    Citation,
    DocumentKind,
    Hit,
    QuestionType,
    Reference,
    Statement,
)
from evident.protocols import Embedder

_LIST_MARKER = re.compile(r"^(?:[-*•]|\d{1,2}[.)])\s+")
_QUANT = re.compile(
    r"\d+(\.\d+)?\s*(%|per ?cent|mg|g\b|kg|mm|cm|weeks?|months?|days?|years?|hours?)|"
    r"\b(RR|OR|HR|CI|NNT)\b|\b\d+(\.\d+)?\s*(times|fold)\b",
    re.I,
)
_BOILERPLATE = re.compile(
    r"demonstration content|not clinical advice|summari[sz]ed in our own words|"
    r"written for (this|the evident) (demo )?library",
    re.I,
)
# Sentences about a source's scope, not about patients: true, but never an answer.
_META = re.compile(
    r"\b(guideline|review|study|trial|meta-analysis|chapter|document|summary|case series|"
    r"recommendations)\b[^.]*\b(does|did|do) not (address|cover|include|apply|examine|study|"
    r"separate|report|assess)|\bis limited to\b|\b(review|study|chapter) (summari[sz]ed|"
    r"described|included|searched)\b|\bthis (summary|chapter|document)\b|"
    r"should not be applied as if|\bneeds evidence about\b|^a clinical question about\b|"
    # Bound to one case or study: not true on its own when quoted in an answer.
    r"\b(in|of) (this|the) (case|trial|study|review|series|cohort)\b|\bthis (case|patient)\b|"
    # One person's story ("The woman with ... recovered", "A 54-year-old man ...").
    r"^(the|a|an|our) ((first|second|third|other) )?(\d+-year-old )?"
    r"(woman|man|girl|boy|patient|child|infant)\b|\b\d+-year-old\b",
    re.I,
)
# Body regions. A sentence that names only regions other than the question's is weaker
# evidence for it (shoulder lavage technique for a forefoot question); one naming the
# question's region is stronger.
_REGIONS: dict[str, re.Pattern[str]] = {
    name: re.compile(r"\b(" + pattern + r")", re.I)
    for name, pattern in {
        "forefoot": r"forefoot|metatars|toe|hallux|sesamoid|ball of the foot|plantar fore",
        "hindfoot": r"heel|achilles|calcane|hindfoot|ankle|retrocalcaneal|haglund",
        "foot": r"foot|feet|plantar|midfoot",
        "leg": r"calf|calves|lower leg|leg\b|legs\b|shin|tibia|fibula|compartment",
        "shoulder": r"shoulder|rotator cuff|supraspinatus|subacromial",
        "hip": r"\bhip|gluteal|trochanter",
        "knee": r"\bknee|patell",
        "hand": r"\bhand|wrist|finger|thumb",
        "elbow": r"elbow",
        "spine": r"spine|spinal|vertebra",
    }.items()
}
_FOOT_FAMILY = {"forefoot", "hindfoot", "foot"}


def regions(text: str) -> set[str]:
    """Return the body regions a text names."""
    return {name for name, pattern in _REGIONS.items() if pattern.search(text)}


def region_fit(sentence_regions: set[str], asked: set[str]) -> float:
    """+1 when a sentence names the question's region, -1 when only other regions, else 0.

    "foot" is neutral against a more specific foot region (forefoot, hindfoot), so a
    general foot statement is not penalised for an Achilles question, but a forefoot
    statement is.
    """
    if not asked or not sentence_regions:
        return 0.0
    if sentence_regions & asked:
        return 1.0
    if "foot" in sentence_regions | asked and sentence_regions | asked <= _FOOT_FAMILY:
        return 0.0
    return -1.0


_NEGATED = re.compile(r"\b(not|no|never|without)\b", re.I)
_SMALL_WORDS = {
    "a",
    "an",
    "and",
    "at",
    "by",
    "for",
    "in",
    "of",
    "on",
    "or",
    "the",
    "to",
    "vs",
    "versus",
    "with",
    "near",
}
_KIND_RANK = {
    DocumentKind.GUIDELINE: 1.0,
    DocumentKind.SYSTEMATIC_REVIEW: 0.8,
    DocumentKind.RANDOMISED_TRIAL: 0.7,
    DocumentKind.OBSERVATIONAL: 0.55,
    DocumentKind.TEXTBOOK: 0.55,
    DocumentKind.NARRATIVE_REVIEW: 0.5,
    DocumentKind.CASE_REPORT: 0.4,
    DocumentKind.PATIENT_INFORMATION: 0.4,
    DocumentKind.UNKNOWN: 0.45,
}


@dataclass
class Candidate:
    """A sentence from a retrieved passage that could become a statement."""

    text: str
    hit: Hit
    start: int
    end: int
    score: float = 0.0
    extra: list[Citation] = field(default_factory=list)

    @property
    def citation(self) -> Citation:
        return Citation(
            chunk_id=self.hit.chunk.chunk_id,
            document_id=self.hit.document_id,
            start=self.start,
            end=self.end,
            quote=self.hit.chunk.text[self.start : self.end],
        )

    @property
    def is_guideline(self) -> bool:
        return self.hit.document.kind is DocumentKind.GUIDELINE


def title_for(frame: QuestionFrame) -> str:
    """Phrase the article title as a heading for the question's type and condition."""
    if frame.reads_as_question:
        # No "treatment of X" frame to fill: the question as asked is the best heading.
        return _title_case(frame.question.rstrip(" ?.!")) + "?"
    condition = _title_case(frame.conditions[0])
    site = ""
    if frame.site:
        site = f" {frame.site_preposition} the {frame.site}"
    # The patient group belongs in the heading: "Treatment of Gout in Pregnancy" is not
    # the article "Treatment of Gout".
    context = f" {frame.context}" if frame.context else ""
    if frame.qtype is QuestionType.DIFFERENTIAL and len(frame.conditions) > 1:
        second = _title_case(frame.conditions[1])
        return _title_case(
            f"{condition} Versus {second}{context}: Telling Them Apart and Managing Each"
        )
    templates = {
        QuestionType.TREATMENT: _treatment_frame(frame.question) + " of {c}{s}",
        QuestionType.DIAGNOSIS: "Diagnosis and Work-up of {c}{s}",
        QuestionType.DIFFERENTIAL: "Differential Diagnosis of {c}{s}",
        QuestionType.PROGNOSIS: "Prognosis of {c}{s}",
        QuestionType.DRUG: "{c}: Dosing and Safety",
        QuestionType.DEFINITION: "What Is {c}?",
        QuestionType.PREVENTION: "Preventing {c}{s}",
    }
    return _title_case(templates[frame.qtype].format(c=condition, s=site + context))


def _treatment_frame(question: str) -> str:
    """Keep the question's own framing ("Initial management of …") for the title."""
    match = re.match(
        r"\s*((?:initial |first-line )?(?:management|treatment))\s+of\b", question, re.I
    )
    return _title_case(match.group(1)) if match else "Treatment"


def _title_case(text: str) -> str:
    out = []
    for i, word in enumerate(text.split()):
        if word.isupper() and len(word) > 1:
            out.append(word)
        elif i > 0 and word.lower() in _SMALL_WORDS:
            out.append(word.lower())
        else:
            out.append(word[:1].upper() + word[1:])
    return " ".join(out)


def document_on_condition(hit: Hit, terms: Sequence[Term]) -> bool:
    """True when the document as a whole is about the condition.

    Its title or its first (primary) listed condition must name it; a document that
    lists the condition among several others is about it only where its sentences say so.
    """
    meta = hit.document
    return mentions(meta.title, terms) or bool(
        meta.conditions and mentions(meta.conditions[0], terms)
    )


def on_condition(hit: Hit, terms: Sequence[Term]) -> bool:
    """True when a passage is about the asked-about condition.

    The passage, its section heading, or its document's title or condition list must
    name the condition (or a synonym or subtype of it).
    """
    return (
        document_on_condition(hit, terms)
        or mentions(hit.chunk.text, terms)
        or mentions(hit.chunk.section, terms)
    )


def _enough(
    usable: Sequence[Hit], candidates: Sequence[Candidate], settings: ComposeSettings
) -> bool:
    return bool(usable) and len(candidates) >= settings.min_passages


def answerable(
    frame: QuestionFrame,
    hits: Sequence[Hit],
    settings: ComposeSettings,
    relevance: dict[str, float] | None = None,
) -> bool:
    """Whether compose_article would answer rather than abstain, without writing it."""
    usable, _ = evidence(frame, hits, settings, relevance)
    return _enough(usable, _candidates(usable, frame.condition_terms()), settings)


def _candidates(hits: Sequence[Hit], terms: Sequence[Term]) -> list[Candidate]:
    """Sentences that can be quoted as statements about the condition.

    In a document about another condition, only sentences that themselves name the
    asked-about condition qualify: a gout guideline's sentence on tophi is not evidence
    about calcific deposits even when the same passage mentions them.
    """
    out: list[Candidate] = []
    for hit in hits:
        whole_document = document_on_condition(hit, terms)
        text = hit.chunk.text
        for start, end in hit.chunk.sentences:
            marker = _LIST_MARKER.match(text[start:end])
            if marker:
                start += marker.end()
            sentence = text[start:end]
            n_words = len(sentence.split())
            if n_words < 6 or n_words > 80 or sentence[-1:] not in ".!)":
                continue  # headings, fragments and run-ons do not make statements
            if sentence.endswith("?") or _BOILERPLATE.search(sentence) or _META.search(sentence):
                continue
            if not whole_document and not mentions(sentence, terms):
                continue
            out.append(Candidate(sentence, hit, start, end))
    return out


def _score(
    candidates: list[Candidate],
    frame: QuestionFrame,
    hits: Sequence[Hit],
    embedder: Embedder | None,
    question_vector: np.ndarray | None,
    relevance: dict[str, float] | None,
    cache: dict[tuple[str, int], np.ndarray] | None,
    embed_top: int = 12,
) -> None:
    """Score sentences for how well they answer the question.

    Every sentence gets cheap features (word overlap, its passage's retrieval score and
    cosine with the question, evidence kind, answer wording, numbers, body site). Only
    the best embed_top are embedded and get their own cosine: embedding every candidate
    sentence would cost seconds on two cores. Sentence vectors are cached across asks.
    """
    best_hit = max((h.score for h in hits), default=1.0) or 1.0
    query_tokens = set(tokenize([frame.question])[0])
    site = frame.site_words()
    asked = regions(f"{frame.site} {frame.context} {frame.question}")
    cue = ANSWER_CUE[frame.qtype]
    semantic: dict[int, float] = {}
    for i, cand in enumerate(candidates):
        tokens = set(tokenize([cand.text])[0])
        overlap = len(tokens & query_tokens) / (len(query_tokens) or 1)
        fit = region_fit(regions(cand.text), asked)
        site_bonus = 0.1 * fit if fit > 0 else 0.2 * fit
        if site and site & {term_key(w) for w in words(cand.text)}:
            site_bonus = 0.15
        semantic[i] = (relevance or {}).get(cand.hit.chunk.chunk_id, 0.3)
        cand.score = (
            0.25 * overlap
            + 0.15 * (cand.hit.score / best_hit)
            + 0.1 * _KIND_RANK[cand.hit.document.kind]
            + (0.08 if cue.search(cand.text) else 0.0)
            + (0.05 if _QUANT.search(cand.text) else 0.0)
            + site_bonus
        )
    if embedder is not None and question_vector is not None and candidates:
        order = sorted(
            range(len(candidates)), key=lambda i: -(candidates[i].score + 0.35 * semantic[i])
        )
        top = order[:embed_top]
        cache = cache if cache is not None else {}
        keys = [(candidates[i].hit.chunk.chunk_id, candidates[i].start) for i in top]
        missing = [k for k in keys if k not in cache]
        if missing:
            texts = {(c.hit.chunk.chunk_id, c.start): c.text for c in candidates}
            for key, vector in zip(
                missing, embedder.embed([texts[k] for k in missing]), strict=True
            ):
                cache[key] = vector
        for i, key in zip(top, keys, strict=True):
            semantic[i] = float(cache[key] @ question_vector)
    for i, cand in enumerate(candidates):
        cand.score += 0.35 * semantic[i]


def _dedupe(candidates: list[Candidate], threshold: float = 0.6) -> list[Candidate]:
    """Merge near-duplicate sentences; the kept one carries every source's citation."""
    kept: list[Candidate] = []
    token_sets: list[set[str]] = []
    for cand in candidates:
        tokens = set(tokenize([cand.text])[0])
        for other, other_tokens in zip(kept, token_sets, strict=True):
            union = tokens | other_tokens
            if union and len(tokens & other_tokens) / len(union) >= threshold:
                if cand.hit.document_id != other.hit.document_id:
                    other.extra.append(cand.citation)
                break
        else:
            kept.append(cand)
            token_sets.append(tokens)
    return kept


def _statement(cand: Candidate) -> Statement:
    return Statement(text=cand.text, citations=(cand.citation, *cand.extra))


def evidence(
    frame: QuestionFrame,
    hits: Sequence[Hit],
    settings: ComposeSettings,
    relevance: dict[str, float] | None = None,
) -> tuple[list[Hit], list[str]]:
    """Return the hits that count as evidence (relevant enough and about the condition)
    and a note counting those left out as being about other conditions."""
    terms = frame.condition_terms()
    relevant = [
        h
        for h in hits
        if relevance is None or relevance.get(h.chunk.chunk_id, 1.0) >= settings.min_relevance
    ]
    usable = [h for h in relevant if on_condition(h, terms)]
    off_condition = [h for h in relevant if h not in usable]
    notes: list[str] = []
    if off_condition:
        names = sorted({c for h in off_condition for c in h.document.conditions[:1]} - {""})
        notes.append(
            f"Left out {len(off_condition)} passage(s) about other conditions"
            + (f" ({', '.join(names[:4])})" if names else "")
            + f" because they do not concern {frame.condition}."
        )
    return usable, notes


def _about_other_group(text: str, asked_groups: frozenset[str]) -> bool:
    """Whether a sentence is about a patient group the question does not name."""
    return bool(patient_groups(text) - asked_groups)


def _bottom_line(
    frame: QuestionFrame, answering: list[Candidate], asked_groups: frozenset[str]
) -> list[Candidate]:
    """Pick one or two answering sentences (from two sources) to lead the article.

    Among answering sentences, the lead fits the question best: it is about the body region
    asked about, answers for the patient asked about (a sentence about a group the question
    does not name, such as dialysis or children, answers for that group; a sentence about a
    group the question names comes first), and says how the condition is treated before
    naming the first test. A guideline leads when it fits as well and scores within 10 %.
    """
    asked = regions(f"{frame.site} {frame.context} {frame.question}")

    def misfit(cand: Candidate) -> tuple[bool, bool, bool, bool]:
        return (
            region_fit(regions(cand.text), asked) < 0,
            _about_other_group(cand.text, asked_groups),
            bool(asked_groups) and not asked_groups & patient_groups(cand.text),
            not LEAD_CUE[frame.qtype].search(cand.text),
        )

    ranked = sorted(answering, key=misfit)
    best = ranked[0]
    guideline_answers = [
        c
        for c in ranked[:8]
        if c.is_guideline and c.score >= 0.9 * best.score and misfit(c) == misfit(best)
    ]
    lead = (guideline_answers or ranked)[0]
    bottom = [lead]
    for cand in ranked:
        if len(bottom) == 2:
            break
        other_source = cand is not lead and cand.hit.document_id != lead.hit.document_id
        close = cand.score >= 0.85 * lead.score
        if other_source and close and not _about_other_group(cand.text, asked_groups):
            bottom.append(cand)
    return bottom


def compose_article(
    frame: QuestionFrame,
    hits: Sequence[Hit],
    settings: ComposeSettings,
    library_version: str,
    *,
    embedder: Embedder | None = None,
    question_vector: np.ndarray | None = None,
    relevance: dict[str, float] | None = None,
    searched: Sequence[str] = (),
    sentence_cache: dict[tuple[str, int], np.ndarray] | None = None,
) -> Article:
    """Build an extractive article from retrieved passages, or an abstention.

    Only passages about the asked-about condition are used; evidence about neighbouring
    conditions is left out and counted in the article's notes.

    Args:
        relevance: chunk_id -> cosine between question and passage, when known; passages
            under settings.min_relevance do not count as evidence.
        searched: the queries that were run, shown if the article abstains.
        sentence_cache: sentence vectors kept between asks, keyed by (chunk_id, start).
    """
    terms = frame.condition_terms()
    usable, notes = evidence(frame, hits, settings, relevance)
    generated_at = datetime.now(UTC)
    candidates = _candidates(usable, terms)
    if not _enough(usable, candidates, settings):
        return _abstain(frame, library_version, generated_at, searched, notes, len(usable))

    _score(candidates, frame, usable, embedder, question_vector, relevance, sentence_cache)
    candidates.sort(key=lambda c: -c.score)
    candidates = _dedupe(candidates)

    # Bottom line: the best answering sentence, from a guideline when one answers.
    cue = ANSWER_CUE[frame.qtype]
    # A bottom line states what to do or what is true: it names the condition, uses
    # answering wording, and is not a negation. A guideline leads when it answers about
    # as well as the best sentence.
    answering = (
        [
            c
            for c in candidates
            if cue.search(c.text) and mentions(c.text, terms) and not _NEGATED.search(c.text)
        ]
        or [c for c in candidates if cue.search(c.text) and not _NEGATED.search(c.text)]
        or candidates
    )
    # The context ("in patients on dialysis") is part of the question's wording.
    asked_groups = patient_groups(frame.question)
    bottom = _bottom_line(frame, answering, asked_groups)
    # Warning signs are placed before other statements, so a section that fills up drops an
    # ordinary statement rather than a red flag (e.g. aspirating a possibly septic joint).
    rest = sorted((c for c in candidates if c not in bottom), key=lambda c: not is_warning(c.text))

    rules = SECTIONS[frame.qtype]
    # A statement about a patient group the question does not name (dialysis, diabetes,
    # children …) is a special consideration, whatever else it is about.
    special = next((i for i, r in enumerate(rules) if r.heading == SPECIAL_HEADING), None)
    has_guideline = any(c.is_guideline for c in rest)
    has_research = any(not c.is_guideline for c in rest)
    split = has_guideline and has_research
    groups = [("guidelines", True), ("research", False)] if split else [("", None)]
    sections: list[ArticleSection] = []
    for group, is_guideline in groups:
        buckets: list[list[Candidate]] = [[] for _ in rules]
        for cand in rest:
            if is_guideline is not None and cand.is_guideline != is_guideline:
                continue
            slot = place(cand.text, rules)
            if special is not None and _about_other_group(cand.text, asked_groups):
                slot = special
            if slot is None or len(buckets[slot]) >= settings.bullets_per_section:
                continue
            # At most two statements from one document per section keeps sources varied.
            same_doc = sum(1 for c in buckets[slot] if c.hit.document_id == cand.hit.document_id)
            if same_doc < 2:
                buckets[slot].append(cand)
        for rule, bucket in zip(rules, buckets, strict=True):
            if bucket:  # a section with no evidence is left out, never padded
                sections.append(
                    ArticleSection(rule.heading, tuple(_statement(c) for c in bucket), group)
                )
    statements = [_statement(c) for c in bottom] + [s for sec in sections for s in sec.statements]
    references = references_for(statements, usable)
    return Article(
        question=frame.question,
        title=title_for(frame),
        question_type=frame.qtype,
        condition=frame.condition,
        bottom_line=tuple(_statement(c) for c in bottom),
        sections=tuple(sections),
        references=references,
        abstained=False,
        generated_at=generated_at,
        library_version=library_version,
        searched=tuple(searched),
        notes=tuple(notes),
    )


def references_for(statements: Sequence[Statement], hits: Sequence[Hit]) -> tuple[Reference, ...]:
    metas = {h.document_id: h.document for h in hits}
    seen: dict[str, Reference] = {}
    for statement in statements:
        for citation in statement.citations:
            if citation.document_id not in seen:
                seen[citation.document_id] = Reference(
                    key=citation.document_id[:10],
                    document_id=citation.document_id,
                    meta=metas[citation.document_id],
                )
    return tuple(seen.values())


def _abstain(
    frame: QuestionFrame,
    library_version: str,
    generated_at: datetime,
    searched: Sequence[str],
    notes: list[str],
    found: int,
) -> Article:
    condition = frame.condition
    # A question-shaped phrase is no name to write "evidence about …" around.
    about = condition if frame.named else "its subject"
    reason = (
        f"The library holds too little evidence about {about} to answer this question "
        f"({found} relevant passage{'s' if found != 1 else ''} found). evident does not fill "
        "the gap with unsupported text."
    )
    suggestions = (
        f"Add a current clinical practice guideline on {about} "
        "(for example from a national guideline body or specialty society).",
        f"Add a systematic review or meta-analysis on {about}.",
        "Add patient information from a public health service if the question is from a patient.",
    )
    heading = title_for(frame) if frame.reads_as_question else _title_case(condition)
    return Article(
        question=frame.question,
        title=f"Not Enough Evidence: {heading}",
        question_type=frame.qtype,
        condition=condition,
        bottom_line=(),
        sections=(),
        references=(),
        abstained=True,
        generated_at=generated_at,
        library_version=library_version,
        abstain_reason=reason,
        searched=tuple(searched),
        suggestions=suggestions,
        notes=tuple(notes),
    )
