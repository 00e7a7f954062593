"""Find the published article that answers a question, so it can be served instead of a
freshly composed one.

With an embedder, questions match when the cosine between their embeddings reaches
MATCH_COSINE. Without one (embedder "none"), a lexical fallback compares the questions'
content words after stemming and folding treatment synonyms, and needs a Jaccard overlap of
MATCH_JACCARD. Either way the question types (treatment, diagnosis, …) and audiences must
agree, and so must the aspects the questions ask about (cause, prevention, diagnosis,
treatment, …), so a different question about the same condition does not match. A
question that narrows the published one to a site ("… of the knee") can still match;
the returned article says which question it answers, and `fresh` asks anew. The thresholds
are tested on paraphrases and near misses in tests/review/test_match.py.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evident.index.lexical import tokenize
from evident.protocols import Embedder, FloatMatrix

MATCH_COSINE = 0.82
MATCH_JACCARD = 0.6

# Words that shape a question without changing what it asks about (stemmed forms).
_FILLER = {
    "how", "what", "which", "who", "why", "when", "do", "doe", "you", "can", "should", "best",
    "option", "near", "by", "approach", "recommend", "recommended", "current", "way",
    "patient", "would", "could", "we", "one", "i", "someon",
}  # fmt: skip
_SYNONYMS = {
    "treatment": "treat",
    "therapi": "treat",
    "manag": "treat",
    "manage": "treat",
    "therapeut": "treat",
}
# Stemmed words naming what a question asks about; two questions must share all of them.
_ASPECTS = {
    "treat", "caus", "prevent", "diagnos", "symptom", "sign", "risk", "prognosi", "complic",
    "test", "imag", "outcom", "differenti", "defin", "side", "dose", "screen", "preval",
}  # fmt: skip
_SPACE = re.compile(r"[\W_]+")


def question_key(question: str) -> str:
    """Fold a question for exact comparison: case, punctuation and spacing removed."""
    return _SPACE.sub(" ", question.casefold()).strip()


def content_words(question: str) -> set[str]:
    """Stemmed content words of a question, with treatment synonyms folded together."""
    words = tokenize([question])[0]
    return {_SYNONYMS.get(w, w) for w in words if w not in _FILLER}


def aspects(question: str) -> set[str]:
    """The aspects a question asks about (treatment, cause, prevention, …)."""
    return content_words(question) & _ASPECTS


def lexical_similarity(a: str, b: str) -> float:
    """Jaccard overlap of the two questions' content words."""
    x, y = content_words(a), content_words(b)
    if not x or not y:
        return 0.0
    return len(x & y) / len(x | y)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A published article that might answer the question."""

    article_id: str
    question: str
    question_type: str
    audience: str


def best_match(
    question: str,
    question_type: str,
    audience: str,
    candidates: Sequence[Candidate],
    embedder: Embedder | None = None,
    vectors: dict[str, FloatMatrix] | None = None,
    question_vector: FloatMatrix | None = None,
) -> tuple[str, float] | None:
    """Return (article_id, similarity) of the closest candidate over the threshold, or None.

    vectors: stored question embeddings by article id (missing ones are embedded now).
    """
    wanted = aspects(question)
    pool = [
        c
        for c in candidates
        if c.question_type == question_type
        and c.audience == audience
        and aspects(c.question) == wanted
    ]
    if not pool:
        return None
    key = question_key(question)
    exact = [c for c in pool if question_key(c.question) == key]
    if exact:
        return exact[0].article_id, 1.0
    if embedder is None:
        scored = [(lexical_similarity(question, c.question), c.article_id) for c in pool]
        score, article_id = max(scored)
        return (article_id, score) if score >= MATCH_JACCARD else None
    known = dict(vectors or {})
    missing = [c for c in pool if c.article_id not in known]
    if missing:
        for c, v in zip(missing, embedder.embed([c.question for c in missing]), strict=True):
            known[c.article_id] = v
    query = question_vector if question_vector is not None else embedder.embed([question])[0]
    matrix = np.stack([known[c.article_id] for c in pool])
    cosines = matrix @ np.asarray(query, dtype=np.float32)
    best = int(np.argmax(cosines))
    score = float(cosines[best])
    return (pool[best].article_id, score) if score >= MATCH_COSINE else None
