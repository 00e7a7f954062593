"""Find where two gathered sources contradict each other on the same point.

For each statement of a verified article, the closest sentence of every other gathered
document (most shared content words) is judged against it by the claim-support model,
both ways round. A pair the model reads as contradicting in both directions is shown under
"Sources disagree" with both quotes and both citations, so the article never silently
picks one side. (A statement that cites a passage saying its opposite is split the same
way by verify_article.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from evident.index.lexical import tokenize
from evident.models import Article, Citation, Hit, Reference, Statement
from evident.protocols import SupportModel
from evident.verify.support import DISAGREE_HEADING, disagreement_section

# A candidate must share this much of the statement's wording to be "the same point".
MIN_OVERLAP = 0.5
# P(contradicts) needed in both directions; strict, since a false alarm costs trust too.
MIN_CONTRADICTION = 0.6
MAX_SHOWN = 2


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A sentence of a gathered passage, with its content words (tokenised once per ask)."""

    hit: Hit
    start: int
    end: int
    words: frozenset[str]


def _candidates(hits: Sequence[Hit]) -> list[_Candidate]:
    spans = [
        (hit, start, end)
        for hit in hits
        for start, end in hit.chunk.sentences or ((0, len(hit.chunk.text)),)
        if len(hit.chunk.text[start:end].split()) >= 6
    ]
    tokens = tokenize([hit.chunk.text[a:b] for hit, a, b in spans])
    return [_Candidate(h, a, b, frozenset(t)) for (h, a, b), t in zip(spans, tokens, strict=True)]


def _closest(statement: Statement, candidates: Sequence[_Candidate]) -> _Candidate | None:
    """The other document's sentence sharing most of the statement's words (coverage)."""
    own = {c.document_id for c in statement.citations}
    mine = tokenize([statement.text])[0]
    if not mine:
        return None
    best: tuple[float, _Candidate] | None = None
    for candidate in candidates:
        text = candidate.hit.chunk.text[candidate.start : candidate.end]
        if candidate.hit.document_id in own or text.strip() == statement.text.strip():
            continue
        score = sum(1 for t in mine if t in candidate.words) / len(mine)
        if score >= MIN_OVERLAP and (best is None or score > best[0]):
            best = (score, candidate)
    return None if best is None else best[1]


def note_disagreements(article: Article, hits: Sequence[Hit], model: SupportModel) -> Article:
    """Return the article with a "Sources disagree" section when its sources clash."""
    if article.abstained or any(s.heading == DISAGREE_HEADING for s in article.sections):
        return article
    statements = [s for s in article.statements() if not s.generated and s.citations]
    candidates = _candidates(hits)
    found = [(s, c) for s in statements if (c := _closest(s, candidates)) is not None]
    if not found:
        return article
    pairs = [(s.text, c.hit.chunk.text[c.start : c.end]) for s, c in found]
    both = model.probabilities(pairs)[:, 1]
    # The reverse reading runs only where the first already reads a contradiction.
    maybe = [i for i in range(len(pairs)) if both[i] >= MIN_CONTRADICTION]
    if maybe:
        reverse = model.probabilities([(pairs[i][1], pairs[i][0]) for i in maybe])[:, 1]
        both[maybe] = np.minimum(both[maybe], reverse)
    shown: list[tuple[Statement, Statement]] = []
    references = list(article.references)
    cited = {r.document_id for r in references}
    for i in np.argsort(-both)[:MAX_SHOWN]:
        if both[i] < MIN_CONTRADICTION:
            break
        statement, candidate = found[i]
        hit, start, end = candidate.hit, candidate.start, candidate.end
        quote = hit.chunk.text[start:end]
        other = Statement(
            quote,
            (Citation(hit.chunk.chunk_id, hit.document_id, start, end, quote),),
            support=1.0,
        )
        shown.append((replace(statement, lead=""), other))
        if hit.document_id not in cited:
            references.append(Reference(hit.document_id[:10], hit.document_id, hit.document))
            cited.add(hit.document_id)
    if not shown:
        return article
    metrics = dict(article.metrics)
    metrics["disagreements"] = float(len(shown))
    return replace(
        article,
        sections=(*article.sections, disagreement_section(shown)),
        references=tuple(references),
        metrics=metrics,
    )
