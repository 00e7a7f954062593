"""Understand a question: its type, the condition(s) it asks about, and the body site."""

from __future__ import annotations

import re
from dataclasses import dataclass

from evident.errors import InvalidInput
from evident.index.vocab import Concept, Term, Topic, Vocabulary, mentions, term_key, words
from evident.models import QuestionType

MAX_QUESTION_CHARS = 1000

_TYPE_RULES: list[tuple[QuestionType, re.Pattern[str]]] = [
    (
        QuestionType.DIFFERENTIAL,
        re.compile(
            r"\b(versus|vs\.?|differentiat\w*|distinguish\w*|difference between|tell apart|"
            r"or is it)\b"
        ),
    ),
    (
        QuestionType.DRUG,
        re.compile(
            r"\b(dose|doses|dosing|dosage|how much|mg|side effects?|interact\w*|"
            r"contraindications? (of|to)|can i take|(ok|okay|safe) to take)\b|"
            # "Is naproxen OK if …", not "Is running safe with …" or "Is surgery safe in …".
            r"^is (?!it\b|this\b|that\b|surgery\b)\w+(?<!ing) (ok|okay|safe)\b"
        ),
    ),
    (
        QuestionType.PREVENTION,
        re.compile(r"\b(prevent\w*|prophyla\w*|reduce the risk|screen\w*)\b"),
    ),
    (
        QuestionType.PROGNOSIS,
        re.compile(
            r"\b(prognosis|outcomes?|survival|natural history|how long will|recurrence rate)\b"
        ),
    ),
    # "What causes X?" is answered by the definition layout (causes and risk factors).
    (
        QuestionType.DEFINITION,
        re.compile(
            r"^(what|which)\b[^?]*\bcauses?\b|\bwhy (do|does|is|are|did)\b|"
            r"\bhow (do|does|did|can) (people|you|i|we|someone|kids|children) (get|catch)\b"
            r"(?! rid| relief| better| over)"
        ),
    ),
    (
        QuestionType.TREATMENT,
        re.compile(r"\b(treat\w*|manag\w*|therap\w*|what to do|options? for|surgery for|cure)\b"),
    ),
    (
        QuestionType.DIAGNOSIS,
        re.compile(
            r"\b(diagnos\w*|work-?up|investigat\w*|imaging|tests? for|evaluat\w*|assess\w*|"
            r"identify|signs of|symptoms? of|how to tell|how do i know)\b"
        ),
    ),
    (QuestionType.DEFINITION, re.compile(r"^(what (is|are)|define|definition of)\b")),
]

# Leading wording that frames the question rather than naming the condition.
_FRAME = re.compile(
    r"^(?:how\s+(?:is|are|should|can|do|does)\s+(?=\S+(?:\s+\S+)*?\s+(?:be\s+)?"
    r"(?:managed|treated|diagnosed|prevented|assessed|investigated|evaluated|imaged)\b)"
    r"|(?:what|which)\s+(?:causes?|triggers?)\s+"
    r"|(?:what|which|how)\b[^?]*?\b(?:for|of|in|with|to)\s+(?:the\s+|a\s+|an\s+)?"
    r"|(?:initial\s+|first-line\s+)?(?:management|treatment|diagnosis|work-?up|prognosis|"
    r"prevention)\s+(?:of|for)\s+(?:the\s+|a\s+|an\s+)?"
    r"|how\s+(?:to|do\s+(?:you|i|we)|should\s+\w+)\s+(?:\w+\s+(?:and\s+)?)?(?:\w+\s+)?"
    r"|what\s+(?:is|are)\s+(?:the\s+|a\s+|an\s+)?)",
    re.I,
)
# "How is X managed?": the verb at the end frames the question too.
_TRAILING_VERB = re.compile(
    r"\s+(?:be\s+)?(?:managed|treated|diagnosed|prevented|assessed|investigated|evaluated|"
    r"imaged)$",
    re.I,
)
# Verbs left at the front after the frame is removed ("differentiate and manage X").
_LEAD_VERBS = re.compile(
    r"^(?:(?:treat|manage|differentiate|distinguish|diagnose|assess|evaluate|approach|"
    r"the|a|an|difference|between|and)\s+)+",
    re.I,
)
_CONTEXT = re.compile(
    r"\s+\b(in|for)\s+(a|an|the)?\s*(patients?|people|person|children|adults?|"
    r"women|men|athletes?|someone|pregnancy|pregnant|older|elderly|infants?|newborns?|"
    r"neonates?|adolescents?|teenagers?)\b.*$",
    re.I,
)
_SITE = re.compile(
    r"\s+\b(near|around|at|of|in|on|within|under|beneath|over)\s+(the\s+)?"
    r"((?:(?:left|right|inferior|superior|distal|proximal|medial|lateral|plantar|"
    r"dorsal)\s+)*[a-z' -]+)$",
    re.I,
)
# Wording that introduces a subject rather than naming it ("Describe the role of X").
_TOPIC_LEAD = re.compile(
    r"^(?:(?:please\s+)?(?:describe|explain|list|summari[sz]e|outline|discuss|tell\s+me\s+about|"
    r"what\s+is\s+known\s+about)\s+(?:the\s+|a\s+|an\s+)?)?"
    r"(?:(?:role|mechanisms?\s+of\s+action|modes?\s+of\s+action|action|function|purpose|aim|"
    r"use|effects?|reason\s+for)\s+of\s+(?:the\s+|a\s+|an\s+)?)?",
    re.I,
)
# Words that frame a question about a subject the vocabulary does not know; they do not
# have to appear in a sentence for it to be about that subject.
_GENERIC = {
    "describe", "explain", "list", "summarise", "summarize", "outline", "discuss", "known",
    "about", "why", "does", "do", "did", "can", "could", "which", "who", "when", "where",
    "role", "mechanism", "mechanisms", "mode", "action", "function", "purpose", "aim",
    "use", "used", "usage", "effect", "effects", "affect", "reason", "drug", "study",
    "investigate", "investigated", "type", "types", "main", "common", "most", "there",
    "be", "been", "by", "from", "as", "it", "its", "this", "that", "these", "those",
}  # fmt: skip
_QUESTION_START = re.compile(
    r"^(?:is|are|was|were|do|does|did|can|could|should|would|will|may|might|must|has|have|"
    r"had|when|why|where|who|whom|whose|which|what|how)\b",
    re.I,
)
# "my feet", "can I": a person's own words, not a condition's name.
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|me|my|mine)\b", re.I)
_VERSUS = re.compile(r"\s+(?:versus|vs\.?|or)\s+", re.I)
# Who the question is about is not what it asks about ("in a patient with infection").
_PERSON = {"patient", "patients", "person", "people", "someone", "adult", "adults", "man", "woman"}

_STOP = {
    "a",
    "an",
    "the",
    "of",
    "in",
    "on",
    "at",
    "for",
    "with",
    "and",
    "or",
    "to",
    "near",
    "small",
    "large",
    "non",
    "specific",
    "nonspecific",
    "initial",
    "patient",
    "patients",
    "what",
    "how",
    "is",
    "are",
    "best",
    "first",
    "line",
    "right",
    "left",
    "inferior",
    "superior",
}


@dataclass(frozen=True)
class QuestionFrame:
    """What a question asks.

    conditions: the condition phrases (two for an "X versus Y" question).
    concepts: vocabulary concepts matched in those phrases.
    site: the body site named after the condition ("metatarsal head"), if any.
    site_preposition: how the question attaches the site ("near", "in").
    context: the patient context ("a patient with a transmetatarsal amputation").
    """

    question: str
    qtype: QuestionType
    conditions: tuple[str, ...]
    concepts: tuple[Concept, ...]
    site: str
    context: str
    site_preposition: str = "in"

    @property
    def reads_as_question(self) -> bool:
        """Whether the condition phrase is still the question itself.

        A yes/no or when/why question ("When is surgery considered in gout flare?", "Is
        MEF2C associated with …?") has no "treatment of X" frame to strip, so the phrase
        left is the whole question, not a condition's name.
        """
        return bool(_QUESTION_START.match(self.conditions[0]))

    @property
    def named(self) -> bool:
        """Whether the question names its subject: a phrase, or a condition inside it."""
        return not self.reads_as_question or bool(self.concepts)

    @property
    def subject(self) -> str:
        """The first condition's name, for new questions ("What causes gout?")."""
        if self.reads_as_question and self.concepts:
            return self.concepts[0].name
        return self.conditions[0]

    @property
    def condition(self) -> str:
        """The condition(s) asked about, for headings and the article record."""
        return " versus ".join((self.subject, *self.conditions[1:]))

    def condition_terms(self) -> list[Term]:
        """Every name that counts as the asked-about condition (synonyms and subtypes)."""
        terms: list[str] = []
        for concept in self.concepts:
            terms += [concept.name, *concept.synonyms, *concept.narrower, *concept.lay]
        if terms:
            return [t for t in dict.fromkeys(terms) if term_key(t)]
        if self.reads_as_question or _FIRST_PERSON.search(self.question):
            # No condition name to hold passages to ("how do people get verrucas"): whether
            # a passage answers is the relevance model's call, not a word match.
            return []
        # Unknown to the vocabulary: most of the subject's own content words must appear.
        topics = [
            Topic.of(_TOPIC_LEAD.sub("", c, count=1), _STOP | _GENERIC) for c in self.conditions
        ]
        return [t for t in dict.fromkeys(topics) if t.words]

    def concept_terms(self, phrase: str) -> list[Term]:
        """The names that count as one of the question's conditions (a part of an
        "X versus Y" question): the matched concepts it names, else its content words."""
        terms: list[str] = []
        for concept in self.concepts:
            names = [concept.name, *concept.synonyms, *concept.lay]
            if mentions(phrase, names):
                terms += [*names, *concept.narrower]
        if terms:
            return [t for t in dict.fromkeys(terms) if term_key(t)]
        topic = Topic.of(_TOPIC_LEAD.sub("", phrase, count=1), _STOP | _GENERIC)
        return [topic] if topic.words else []

    def site_words(self) -> set[str]:
        return {term_key(w) for w in words(self.site) if w not in _STOP}

    def context_words(self) -> set[str]:
        """The modifier's own words ("in a patient with infection" -> infection)."""
        return {term_key(w) for w in words(self.context) if w not in _STOP | _GENERIC | _PERSON}


def classify(question: str) -> QuestionType:
    """Return the kind of question, from its wording."""
    lowered = question.lower()
    for qtype, pattern in _TYPE_RULES:
        if pattern.search(lowered):
            return qtype
    return QuestionType.TREATMENT


def validate_question(question: str) -> str:
    question = " ".join(question.split())
    if not question:
        raise InvalidInput("the question is empty; type a clinical question")
    if len(question) > MAX_QUESTION_CHARS:
        raise InvalidInput(
            f"the question is {len(question)} characters long; keep it under "
            f"{MAX_QUESTION_CHARS} (ask one thing at a time)"
        )
    if not any(ch.isalpha() for ch in question):
        raise InvalidInput(f"{question!r} is not a question; type a clinical question in words")
    return question


def analyse(question: str, vocabulary: Vocabulary) -> QuestionFrame:
    """Classify a question and pull out its condition(s), site and patient context."""
    question = validate_question(question)
    qtype = classify(question)
    phrase = question.rstrip("?.! ")
    phrase = _LEAD_VERBS.sub("", _FRAME.sub("", phrase, count=1))
    phrase = _TRAILING_VERB.sub("", phrase)
    phrase = _TOPIC_LEAD.sub("", phrase, count=1) or phrase
    context = ""
    match = _CONTEXT.search(phrase)
    if match:
        context = match.group(0).strip()
        phrase = _TRAILING_VERB.sub("", phrase[: match.start()])
    parts = [phrase]
    if qtype is QuestionType.DIFFERENTIAL:
        parts = [p.strip() for p in _VERSUS.split(phrase)]
        if len(parts) == 1:
            parts = [p.strip() for p in re.split(r"\s+and\s+", phrase, flags=re.I)]
    site = ""
    preposition = "in"
    conditions: list[str] = []
    for part in parts:
        site_match = _SITE.search(part)
        if site_match and vocabulary.find(part[: site_match.start()]):
            if not site:
                site = site_match.group(3).strip()
                preposition = site_match.group(1).lower()
            part = part[: site_match.start()]
        if part:
            conditions.append(part.strip())
    concepts: list[Concept] = []
    for part in conditions or [phrase]:
        for _, concept in vocabulary.find(part):
            if concept not in concepts:
                concepts.append(concept)
    if not concepts:
        # The frame may have cut the condition off; look for one anywhere in the question.
        body = question[: len(question) - len(context)] if context else question
        concepts = [c for _, c in vocabulary.find(body)]
    if context and not concepts:
        # "in a patient with X": X is context, but if no condition was found, X is it.
        concepts = [c for _, c in vocabulary.find(context)]
    return QuestionFrame(
        question=question,
        qtype=qtype,
        conditions=tuple(conditions) or (phrase,),
        concepts=tuple(concepts),
        site=site,
        context=context,
        site_preposition=preposition,
    )
