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
from dataclasses import replace

import numpy as np

from evident.models import Article, Citation, Hit, Reference, Statement
from evident.protocols import SupportModel
from evident.verify.support import DISAGREE_HEADING, coverage, disagreement_section

# A candidate must share this much of the statement's wording to be "the same point".
MIN_OVERLAP = 0.5
# P(contradicts) needed in both directions; strict, since a false alarm costs trust too.
MIN_CONTRADICTION = 0.6
MAX_SHOWN = 2


def _closest(statement: Statement, hits: Sequence[Hit]) -> tuple[Hit, int, int] | None:
    own = {c.document_id for c in statement.citations}
    best: tuple[float, Hit, int, int] | None = None
    for hit in hits:
        if hit.document_id in own:
            continue
        text = hit.chunk.text
        for start, end in hit.chunk.sentences or ((0, len(text)),):
            sentence = text[start:end]
            if len(sentence.split()) < 6 or sentence.strip() == statement.text.strip():
                continue
            score = coverage(statement.text, sentence)
            if score >= MIN_OVERLAP and (best is None or score > best[0]):
                best = (score, hit, start, end)
    return None if best is None else best[1:]


def note_disagreements(article: Article, hits: Sequence[Hit], model: SupportModel) -> Article:
    """Return the article with a "Sources disagree" section when its sources clash."""
    if article.abstained or any(s.heading == DISAGREE_HEADING for s in article.sections):
        return article
    statements = [s for s in article.statements() if not s.generated and s.citations]
    found = [(s, c) for s in statements if (c := _closest(s, hits)) is not None]
    if not found:
        return article
    pairs = [(s.text, h.chunk.text[a:b]) for s, (h, a, b) in found]
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
        statement, (hit, start, end) = found[i]
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
