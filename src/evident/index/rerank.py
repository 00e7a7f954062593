"""Rerank fused candidates with the relevance model (a question-passage cross-encoder).

Fusion finds passages that share words or meaning with the question; the cross-encoder
reads question and passage together and judges whether the passage answers it. Only the
best `rerank_depth` fused candidates are read (each costs about as much as embedding a
passage). The evidence-kind and recency priors then apply to the reranking score (the
model's probability with a say for fusion), as they did to the fused score, and MMR spreads
the list afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence

from evident.models import Chunk, DocumentMeta
from evident.protocols import RelevanceModel


def passage_for_model(chunk: Chunk, meta: DocumentMeta | None) -> str:
    """What the model reads of a passage: its document's title, then the passage."""
    title = meta.title if meta is not None else ""
    return f"{title}\n{chunk.text}" if title else chunk.text


# How much fusion's score still counts once the relevance model has read a candidate.
FUSION_SAY = 0.3


def rerank_scores(
    model: RelevanceModel, question: str, texts: Sequence[str], fused: Sequence[float]
) -> tuple[list[float], list[float]]:
    """Score candidates for reranking: the model's probability plus FUSION_SAY times the
    fused score scaled to 0-1 over these candidates.

    The probability leads; fusion keeps a say, so a passage that matches every asked word
    is not overtaken by one the model merely finds on a nearby topic.

    Returns:
        each candidate's reranking score and its probability (both in the input order).
    """
    probabilities = [float(p) for p in model.scores(question, texts)]
    low = min(fused, default=0.0)
    span = max(fused, default=0.0) - low
    scores = [
        p + FUSION_SAY * ((f - low) / span if span > 0 else 0.0)
        for p, f in zip(probabilities, fused, strict=True)
    ]
    return scores, probabilities
