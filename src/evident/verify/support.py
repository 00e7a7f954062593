"""Check that every statement is supported by the passages it cites.

The support score of a statement against a passage is:
  1.0 when the statement appears verbatim in the passage (after whitespace and case folding);
  otherwise coverage, the share of the statement's content words (stemmed, stop words
  removed) found in the passage, averaged with the best cosine between the statement and a
  passage sentence when an embedder is available.
A statement stays in the article when its citations together reach the threshold
(`verify.support_threshold`). Citation recall and precision follow ALCE (Gao et al. 2023),
with this score standing in for their NLI model.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from evident.index.lexical import tokenize
from evident.models import Article, ArticleSection, Chunk, Citation, RemovedStatement, Statement
from evident.protocols import Embedder

_SPACE = re.compile(r"\s+")


def _fold(text: str) -> str:
    return _SPACE.sub(" ", text).strip().lower()


def quote_is_exact(citation: Citation, chunk: Chunk) -> bool:
    """True when the citation's quote is exactly the text at its span in the passage."""
    return chunk.text[citation.start : citation.end] == citation.quote


def coverage(statement: str, passage: str) -> float:
    """Share of the statement's content words that occur in the passage."""
    mine = tokenize([statement])[0]
    if not mine:
        return 0.0
    theirs = set(tokenize([passage])[0])
    return sum(1 for t in mine if t in theirs) / len(mine)


def support_score(
    statement: str,
    passages: Sequence[str],
    embedder: Embedder | None = None,
    sentence_vectors: Sequence[np.ndarray] | None = None,
) -> float:
    """Score how well the passages (together) support the statement, in [0, 1]."""
    joined = " ".join(passages)
    if _fold(statement) in _fold(joined):
        return 1.0
    lexical = coverage(statement, joined)
    if embedder is None:
        return lexical
    from evident.ingest.chunk import split_sentences

    sentences = [joined[s:e] for s, e in split_sentences(joined)] or [joined]
    vectors = embedder.embed([statement, *sentences])
    cosine = float(np.max(vectors[1:] @ vectors[0]))
    return 0.5 * lexical + 0.5 * max(cosine, 0.0)


def verify_article(
    article: Article,
    chunks: Mapping[str, Chunk],
    threshold: float,
    embedder: Embedder | None = None,
) -> Article:
    """Drop statements their citations do not support and record citation recall/precision.

    A citation whose quote is not at its span in a library passage is invalid: it is
    removed, and a statement left with no valid citation is removed with the reason.
    """
    removed: list[RemovedStatement] = list(article.removed)
    supported = 0
    citations_total = 0
    citations_precise = 0

    def check(statement: Statement) -> Statement | None:
        nonlocal supported, citations_total, citations_precise
        valid = [
            c
            for c in statement.citations
            if c.chunk_id in chunks and quote_is_exact(c, chunks[c.chunk_id])
        ]
        if not valid:
            removed.append(RemovedStatement(statement, "no citation points at a library passage"))
            return None
        texts = [chunks[c.chunk_id].text for c in valid]
        score = support_score(statement.text, texts, embedder)
        if score < threshold:
            removed.append(
                RemovedStatement(statement, f"support {score:.2f} below threshold {threshold:.2f}")
            )
            return None
        supported += 1
        singles = [support_score(statement.text, [t], embedder) for t in texts]
        citations_total += len(valid)
        precise = sum(1 for s in singles if s >= threshold)
        # Citations that only support the statement together are all needed (ALCE).
        citations_precise += precise or len(valid)
        return replace(statement, citations=tuple(valid), support=round(score, 3))

    total = len(article.statements())
    bottom = tuple(s for s in (check(st) for st in article.bottom_line) if s is not None)
    sections = []
    for section in article.sections:
        kept = tuple(s for s in (check(st) for st in section.statements) if s is not None)
        if kept:
            sections.append(ArticleSection(section.heading, kept, section.group))
    used = {c.document_id for st in bottom for c in st.citations} | {
        c.document_id for sec in sections for st in sec.statements for c in st.citations
    }
    metrics = dict(article.metrics)
    metrics.update(
        {
            "statements": float(total),
            "statements_kept": float(supported),
            "citation_recall": supported / total if total else 0.0,
            "citation_precision": citations_precise / citations_total if citations_total else 0.0,
        }
    )
    return replace(
        article,
        bottom_line=bottom,
        sections=tuple(sections),
        references=tuple(r for r in article.references if r.document_id in used),
        removed=tuple(removed),
        metrics=metrics,
    )
