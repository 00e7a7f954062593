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
    ASSESS,
    CAUSE,
    DEFINE,
    DOSE,
    IMAGING,
    LABS,
    OUTCOME,
    PREVENT,
    RECOMMEND,
    SECTIONS,
    SPECIAL_HEADING,
    TREATED,
    SectionRule,
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
from evident.protocols import RelevanceModel

_LIST_MARKER = re.compile(r"^(?:[-*•]|\d{1,2}[.)])\s+")
_BOILERPLATE = re.compile(
    r"demonstration content|not clinical advice|summari[sz]ed in our own words|"
    r"written for (this|the evident) (demo )?library",
    re.I,
)
# Sentences about a source's scope, not about patients: true, but never an answer.
_META = re.compile(
    r"\b(guideline|guidance|review|study|trial|meta-analysis|chapter|document|summary|case series|"
    r"recommendations)\b[^.]*\b(does|did|do) not (address|cover|include|apply|examine|study|"
    r"separate|report|assess|give)|\bis limited to\b|\b(review|study|chapter) (summari[sz]ed|"
    r"described|included|searched)\b|\bthis (summary|chapter|document)\b|"
    r"should not be applied as if|\bneeds evidence about\b|^a clinical question about\b|"
    # How a source was made or why it was written: true of the source, not of patients.
    r"\b(was|were) (informed|developed|written|commissioned) by\b|\bwhen (this|the) "
    r"(trial|study|review) was designed\b|\bhad been poorly studied\b|"
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


# Words a heading template may drop from the question: they are its frame, not its subject.
_FRAME_WORDS = set(
    tokenize(
        [
            "treatment treated treat treating therapy management managed manage managing "
            "initial first-line first line options option best usual approach "
            "diagnosis diagnosed diagnose work-up differentiate differential distinguish "
            "tell apart prognosis outlook prevented prevent preventing prevention "
            "dosing dose safety used use"
        ]
    )[0]
)


def title_for(frame: QuestionFrame) -> str:
    """Phrase the article title as a heading for the question's type and condition.

    A heading template ("Treatment of X in Y") is used only when it keeps every word of
    the question's subject and the condition phrase is a clean name; otherwise the
    question as asked is the heading ("What are the complications of …?" is not "What Is
    …?", and "heel pain in the morning" is not "Treatment of Morning").
    """
    templated = None if frame.reads_as_question else _templated_title(frame)
    if templated is not None:
        asked = set(tokenize([frame.question])[0]) - _FRAME_WORDS
        if asked <= set(tokenize([templated])[0]) and not _DANGLING.search(frame.conditions[0]):
            return templated
    return _title_case(frame.question.rstrip(" ?.!")) + "?"


# A condition phrase cut from inside a clause: "acute Charcot foot diagnosed and".
_DANGLING = re.compile(
    r"\b(?:and|or|but|with|of|to)\s*$|\b\w+ed\s+(?:and|or)\b|\b(?:what|how|why|when|which)\b",
    re.I,
)


def _templated_title(frame: QuestionFrame) -> str:
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
    usable: Sequence[Hit],
    candidates: Sequence[Candidate],
    settings: ComposeSettings,
    relevance: dict[str, float] | None,
    named: bool,
) -> bool:
    """Whether the evidence can answer: enough quotable sentences, and (with a relevance
    model) at least one passage the model judges to answer the question.

    named: the question names a condition the passages are held to; the condition match
    already shuts out other subjects, so the model's bar is lower (a two-part question
    scores lower against each passage, which answers one part).
    """
    threshold = settings.named_answer_threshold if named else settings.answer_threshold
    if not usable or len(candidates) < settings.min_passages:
        return False
    if relevance is None:
        return True
    best = max((relevance.get(h.chunk.chunk_id, 0.0) for h in usable), default=0.0)
    return best >= threshold


def answerable(
    frame: QuestionFrame,
    hits: Sequence[Hit],
    settings: ComposeSettings,
    relevance: dict[str, float] | None = None,
) -> bool:
    """Whether compose_article would answer rather than abstain, without writing it."""
    usable, _ = evidence(frame, hits, settings, relevance)
    terms = frame.condition_terms()
    return _enough(usable, _candidates(usable, terms), settings, relevance, bool(terms))


def _candidates(
    hits: Sequence[Hit], terms: Sequence[Term], warnings_only: frozenset[str] = frozenset()
) -> list[Candidate]:
    """Sentences that can be quoted as statements about the condition.

    From a passage in warnings_only (admitted by the red-flag search, not by relevance to
    the question) only sentences in red-flag wording are taken.

    In a document about another condition, only sentences that themselves name the
    asked-about condition qualify: a gout guideline's sentence on tophi is not evidence
    about calcific deposits even when the same passage mentions them. A question that
    names no condition the vocabulary knows (terms is empty) leaves that to relevance.
    """
    out: list[Candidate] = []
    for hit in hits:
        whole_document = not terms or document_on_condition(hit, terms)
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
            if hit.chunk.chunk_id in warnings_only and not is_warning(sentence):
                continue
            out.append(Candidate(sentence, hit, start, end))
    return out


# Wording that states an answer of the asked kind ("is treated with", "is recommended").
# The relevance model judges whether a sentence is on the question's subject far better
# than whether it gives the kind of answer asked for: on the demo library it ranked "X is
# often painless" over "X is treated in a total-contact cast" for a treatment question.
# This nudge (not a filter) breaks such near-ties toward the answer.
_ANSWER_WORDING: dict[QuestionType, list[re.Pattern[str]]] = {
    QuestionType.TREATMENT: [TREATED, RECOMMEND],
    QuestionType.DIAGNOSIS: [ASSESS, IMAGING, LABS],
    QuestionType.DIFFERENTIAL: [ASSESS, IMAGING, LABS, TREATED],
    QuestionType.PROGNOSIS: [OUTCOME],
    QuestionType.DRUG: [DOSE, RECOMMEND],
    QuestionType.DEFINITION: [DEFINE, CAUSE],
    QuestionType.PREVENTION: [PREVENT],
}
_WORDING_BONUS = 0.15
_CONTEXT_BONUS = 0.3


def _score(
    candidates: list[Candidate],
    questions: Sequence[Sequence[str]],
    frame: QuestionFrame,
    model: RelevanceModel | None,
    relevance: dict[str, float] | None,
    settings: ComposeSettings,
) -> list[list[float]]:
    """Score sentences for how well they answer the question; return, per question in
    `questions` (the question, then each part of a two-part question, each asked in the
    wordings question_variants gives, of which the best counts), the relevance
    model's probability for every candidate.

    A sentence's score is the model's judgement of the sentence itself, its passage's
    judgement (a sentence is read without its neighbours), its share of the question's
    words, the evidence kind, answer wording and the body-region fit. The model judges
    topic better than answer (docs/models.md), so the word and region features, which
    kept calf sentences out of a forefoot answer before it, still carry weight. The model
    reads only the scored_sentences best candidates by passage relevance and word overlap;
    the rest rank below every sentence it read (without a model, a sentence takes its
    passage's score).
    """
    query_tokens = set(tokenize([frame.question])[0])
    asked = regions(f"{frame.site} {frame.context} {frame.question}")
    site = frame.site_words()
    # A modifier ("if there is infection", "after surgery") is what a follow-up asks about;
    # the model reads the question whole and weighs it little, so its words lead. A patient
    # group ("with diabetes") says who is asked about, which the group rules handle.
    context = set() if patient_groups(frame.context) else frame.context_words()

    def passage_p(cand: Candidate) -> float:
        return (relevance or {}).get(cand.hit.chunk.chunk_id, 0.5)

    prior: list[float] = []
    overlaps: list[float] = []
    for cand in candidates:
        tokens = set(tokenize([cand.text])[0])
        overlap = len(tokens & query_tokens) / (len(query_tokens) or 1)
        overlaps.append(overlap)
        prior.append(passage_p(cand) + 0.5 * overlap)
    read = sorted(range(len(candidates)), key=lambda i: -prior[i])[: settings.scored_sentences]
    unread = set(range(len(candidates))) - set(read) if model is not None else set()
    per_question: list[list[float]] = []
    for variants in questions:
        probability = [0.0 if i in unread else passage_p(c) for i, c in enumerate(candidates)]
        if model is not None and read:
            texts = [candidates[i].text for i in read]
            best = np.max([model.scores(q, texts) for q in variants], axis=0)
            for i, p in zip(read, best, strict=True):
                probability[i] = float(p)
        per_question.append(probability)
    for i, cand in enumerate(candidates):
        fit = region_fit(regions(cand.text), asked)
        site_bonus = 0.1 * fit if fit > 0 else 0.2 * fit
        keys = {term_key(w) for w in words(cand.text)}
        if site and site & keys:
            site_bonus = 0.15
        wording = any(p.search(cand.text) for p in _ANSWER_WORDING[frame.qtype])
        context_bonus = _CONTEXT_BONUS if context and context & keys else 0.0
        cand.score = (
            0.4 * per_question[0][i]
            + 0.2 * passage_p(cand)
            + 0.25 * overlaps[i]
            + 0.05 * _KIND_RANK[cand.hit.document.kind]
            + site_bonus
            + (_WORDING_BONUS if wording else 0.0)
            + context_bonus
            - (1.0 if i in unread else 0.0)
        )
    return per_question


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


def _evidence_bar(named: bool, settings: ComposeSettings) -> float:
    """The relevance a passage needs to count as evidence.

    A question that names a condition holds passages to it (the condition match); the
    model's judgement then only ranks them and decides whether the library answers.
    Without a name, the model's judgement is all that keeps other subjects out.
    """
    return settings.min_relevance / 4 if named else settings.min_relevance


def evidence(
    frame: QuestionFrame,
    hits: Sequence[Hit],
    settings: ComposeSettings,
    relevance: dict[str, float] | None = None,
    warnings: frozenset[str] = frozenset(),
) -> tuple[list[Hit], list[str]]:
    """Return the hits that count as evidence (relevant enough and about the condition)
    and a note counting those left out as being about other conditions.

    Args:
        relevance: chunk_id -> the relevance model's probability that the passage answers
            the question; for a question that names no known condition, passages under
            settings.min_relevance are not evidence.
        warnings: passages found by the red-flag search; they count as evidence (for
            their red-flag sentences only, see _candidates) whatever their relevance.
    """
    terms = frame.condition_terms()
    bar = _evidence_bar(bool(terms), settings)
    relevant = [
        h
        for h in hits
        if relevance is None
        or relevance.get(h.chunk.chunk_id, 0.0) >= bar
        or h.chunk.chunk_id in warnings
    ]
    usable = [h for h in relevant if not terms or on_condition(h, terms)]
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
    frame: QuestionFrame, ranked: list[Candidate], asked_groups: frozenset[str]
) -> list[Candidate]:
    """Pick one or two answering sentences (from two sources) to lead the article.

    ranked is best first by the relevance model. Among the best, the lead fits the
    question: it is about the body region asked about, and answers for the patient asked
    about (a sentence about a group the question does not name, such as dialysis or
    children, answers for that group; one about a group the question names comes first).
    A guideline leads when it fits as well and the model scores it within 10 %.
    """
    asked = regions(f"{frame.site} {frame.context} {frame.question}")

    def misfit(cand: Candidate) -> tuple[bool, bool, bool]:
        return (
            region_fit(regions(cand.text), asked) < 0,
            _about_other_group(cand.text, asked_groups),
            bool(asked_groups) and not asked_groups & patient_groups(cand.text),
        )

    ranked = sorted(ranked, key=misfit)
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


# Two things asked of one condition ("differentiate and manage", "diagnosed and treated"):
# the model reads each alone, since a passage usually answers one of them.
_VERB = (
    r"(?:differentiat|distinguish|diagnos|identif|recogni[sz]|assess|evaluat|investigat|"
    r"manag|treat|prevent|monitor)\w*"
)
_VERB_PAIR = re.compile(rf"\b({_VERB})\s+and\s+({_VERB})\b", re.I)


def question_variants(question: str) -> list[str]:
    """The question, or one question per verb when it asks two things ("How is X diagnosed
    and treated?" -> "How is X diagnosed?", "How is X treated?")."""
    m = _VERB_PAIR.search(question)
    if not m:
        return [question]
    return [question[: m.start()] + m.group(i) + question[m.end() :] for i in (1, 2)]


def asked_questions(frame: QuestionFrame) -> list[list[str]]:
    """What the relevance model is asked: the question's wordings, then each part's."""
    return [question_variants(q) for q in (frame.question, *(q for _, q in part_questions(frame)))]


def part_questions(frame: QuestionFrame) -> list[tuple[str, str]]:
    """(condition, question about it alone) for each part of an "X versus Y" question.

    The part question is the question with the other conditions taken out, so "How to
    differentiate and manage osteomyelitis versus heterotopic ossification after an
    amputation?" asks the model once about each condition with the rest of its wording.
    """
    if len(frame.conditions) < 2:
        return []
    joined = re.compile(
        r"\s*\b(?:versus|vs\.?|or|and)\s+".join(re.escape(c) for c in frame.conditions), re.I
    )
    out = []
    for condition in frame.conditions:
        # Backslashes doubled: the replacement is a template, the condition plain text.
        literal = condition.replace("\\", "\\\\")
        question, n = joined.subn(literal, frame.question, count=1)
        out.append((condition, question if n else f"{frame.question} ({condition})"))
    return out


# A part of a two-part question gets its own section only with this many statements.
_PART_MIN = 2

# Which treatment step a statement belongs to is asked of the relevance model: the step
# whose question the statement answers best. Cue words only say where a sentence might go
# ("injection" is in "glucocorticoids may be given orally or by injection").
STEP_QUESTIONS = {
    "step 1": "Which medicines, exercises or other non-operative care treat {c}?",
    "step 2": "Which procedure or operation treats {c}?",
    "escalate": "When should {c} be referred to a specialist or treatment escalated?",
}
_STEP_READ = 12  # statements the model places per article; the rest keep their cue slot
_STEP_MIN = 0.3  # below this for every step, the cue slot stands


def _steps_by_model(
    placed: list[tuple[Candidate, int | None]],
    rules: Sequence[SectionRule],
    model: RelevanceModel | None,
    condition: str,
) -> list[tuple[Candidate, int | None]]:
    """Move statements between treatment steps to the step the model says they answer."""
    steps = {
        key: i for i, r in enumerate(rules) for key in STEP_QUESTIONS if key in r.heading.lower()
    }
    if model is None or len(steps) < 2:
        return placed
    slots = set(steps.values())

    def fits(text: str, i: int) -> bool:
        rule = rules[i]
        return bool(
            rule.cue.search(text)
            and (rule.requires is None or rule.requires.search(text))
            and not (rule.excludes is not None and rule.excludes.search(text))
        )

    # The model chooses only between steps whose wording fits the statement: it judges a
    # step's subject better than its kind (an injection given as a medicine is not an
    # operation), so it breaks ties between fitting steps rather than overruling them.
    choices = {
        n: [k for k, i in steps.items() if fits(cand.text, i)]
        for n, (cand, slot) in enumerate(placed)
        if slot in slots
    }
    reading = [n for n, keys in choices.items() if len(keys) > 1][:_STEP_READ]
    if not reading:
        return placed
    texts = [placed[n][0].text for n in reading]
    by_step = {key: model.scores(STEP_QUESTIONS[key].format(c=condition), texts) for key in steps}
    out = list(placed)
    for j, n in enumerate(reading):
        key = max(choices[n], key=lambda k: float(by_step[k][j]))
        if float(by_step[key][j]) >= _STEP_MIN:
            out[n] = (placed[n][0], steps[key])
    return out


def compose_article(
    frame: QuestionFrame,
    hits: Sequence[Hit],
    settings: ComposeSettings,
    library_version: str,
    *,
    model: RelevanceModel | None = None,
    relevance: dict[str, float] | None = None,
    searched: Sequence[str] = (),
    warnings: frozenset[str] = frozenset(),
) -> Article:
    """Build an extractive article from retrieved passages, or an abstention.

    Only passages about the asked-about condition are used; evidence about neighbouring
    conditions is left out and counted in the article's notes.

    Args:
        model: the relevance model that scores sentences (None keeps passage order).
        relevance: chunk_id -> the model's probability that the passage answers the
            question; passages under settings.min_relevance do not count as evidence,
            and without one over settings.answer_threshold the article abstains.
        searched: the queries that were run, shown if the article abstains.
        warnings: passages the red-flag search found; their warning sentences are
            evidence even when the passage does not answer the question itself.
    """
    terms = frame.condition_terms()
    usable, notes = evidence(frame, hits, settings, relevance, warnings)
    generated_at = datetime.now(UTC)
    bar = _evidence_bar(bool(terms), settings)
    warnings_only = frozenset(
        h.chunk.chunk_id
        for h in usable
        if h.chunk.chunk_id in warnings
        and relevance is not None
        and relevance.get(h.chunk.chunk_id, 0.0) < bar
    )
    candidates = _candidates(usable, terms, warnings_only)
    if not _enough(usable, candidates, settings, relevance, bool(terms)):
        # With a relevance model, "relevant" means judged to answer the question.
        found = len(usable)
        if relevance is not None:
            bar = settings.named_answer_threshold if terms else settings.answer_threshold
            found = sum(relevance.get(h.chunk.chunk_id, 0.0) >= bar for h in usable)
        return _abstain(frame, library_version, generated_at, searched, notes, found)

    parts = part_questions(frame)
    per_question = _score(candidates, asked_questions(frame), frame, model, relevance, settings)
    part_score = {
        id(c): [per_question[j + 1][i] for j in range(len(parts))] for i, c in enumerate(candidates)
    }
    candidates.sort(key=lambda c: -c.score)
    candidates = _dedupe(candidates)

    # The context ("in patients on dialysis") is part of the question's wording.
    asked_groups = patient_groups(frame.question)
    bottom = _bottom_line(frame, candidates, asked_groups)
    # A two-part question gets a bottom line that covers each part: the best sentence
    # about a part the lead does not already cover joins it.
    part_sections: list[tuple[str, list[Candidate]]] = []
    abouts: list[tuple[str, list[Candidate]]] = []
    for j, (condition, _) in enumerate(parts):
        part_terms = frame.concept_terms(condition)
        about = [
            c
            for c in candidates
            if (not part_terms or mentions(c.text, part_terms))
            and part_score[id(c)][j] >= settings.min_relevance
        ]
        about.sort(key=lambda c: -part_score[id(c)][j])
        abouts.append((condition, about))
        if about and not any(c in bottom for c in about) and len(bottom) < 3:
            bottom.append(about[0])
    used = {id(c) for c in bottom}
    for condition, about in abouts:
        section = [c for c in about if id(c) not in used][: settings.bullets_per_section]
        if len(section) >= _PART_MIN:
            part_sections.append((f"About {condition}", section))
            used |= {id(c) for c in section}
    in_parts = {id(c) for _, cs in part_sections for c in cs}
    # Warning signs are placed before other statements, so a section that fills up drops an
    # ordinary statement rather than a red flag (e.g. aspirating a possibly septic joint).
    rest = sorted(
        (c for c in candidates if c not in bottom and id(c) not in in_parts),
        key=lambda c: not is_warning(c.text),
    )

    rules = SECTIONS[frame.qtype]
    # A statement about a patient group the question does not name (dialysis, diabetes,
    # children …) is a special consideration, whatever else it is about.
    special = next((i for i, r in enumerate(rules) if r.heading == SPECIAL_HEADING), None)
    has_guideline = any(c.is_guideline for c in rest)
    has_research = any(not c.is_guideline for c in rest)
    split = has_guideline and has_research
    groups = [("guidelines", True), ("research", False)] if split else [("", None)]
    sections: list[ArticleSection] = [
        ArticleSection(heading, tuple(_statement(c) for c in cs), "")
        for heading, cs in part_sections
    ]
    placed: list[tuple[Candidate, int | None]] = []
    for cand in rest:
        slot = place(cand.text, rules)
        if special is not None and _about_other_group(cand.text, asked_groups):
            slot = special
        placed.append((cand, slot))
    subject = frame.subject if frame.named else "the condition"
    placed = _steps_by_model(placed, rules, model, subject)
    for group, is_guideline in groups:
        buckets: list[list[Candidate]] = [[] for _ in rules]
        for cand, slot in placed:
            if is_guideline is not None and cand.is_guideline != is_guideline:
                continue
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
