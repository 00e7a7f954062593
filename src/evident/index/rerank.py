"""Rerank fused candidates with the relevance model (a question-passage cross-encoder).

Fusion finds passages that share words or meaning with the question; the cross-encoder
reads question and passage together and judges whether the passage answers it. Only the
best `rerank_depth` fused candidates are read (each costs about as much as embedding a
passage). The evidence-kind and recency priors then apply to the model's probability, as
they did to the fused score, and MMR spreads the list afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence

from evident.models import Chunk, DocumentMeta
from evident.protocols import RelevanceModel


def passage_for_model(chunk: Chunk, meta: DocumentMeta | None) -> str:
    """What the model reads of a passage: its document's title, then the passage."""
    title = meta.title if meta is not None else ""
    return f"{title}\n{chunk.text}" if title else chunk.text


def rerank_order(
    model: RelevanceModel, question: str, texts: Sequence[str], fused: Sequence[float]
) -> tuple[list[int], list[float]]:
    """Order candidates by the model's probability; fused score breaks exact ties.

    Returns:
        the candidates' positions, best first, and each candidate's probability (in the
        input order).
    """
    probabilities = [float(p) for p in model.scores(question, texts)]
    order = sorted(range(len(texts)), key=lambda i: (-probabilities[i], -fused[i]))
    return order, probabilities
