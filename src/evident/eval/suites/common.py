"""Helpers the suites share: timing an answer, and similarity between sentence lists."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from evident.app import App
from evident.ingest.chunk import split_sentences
from evident.models import Article
from evident.protocols import Embedder
from evident.verify.support import coverage

# Cosine (all-MiniLM-L6-v2) at which two sentences count as saying the same thing.
MATCH_COSINE = 0.7
# Without an embedder (BM25-only runs) a lexical stand-in: the share of the reference
# sentence's content words found in the candidate.
MATCH_COVERAGE = 0.7


def timed_ask(app: App, question: str) -> tuple[Article, float]:
    start = time.perf_counter()
    article = app.ask(question)
    return article, time.perf_counter() - start


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text) if len(text[s:e].split()) >= 3]


def similarity(
    references: Sequence[str], candidates: Sequence[str], embedder: Embedder | None
) -> npt.NDArray[np.float32]:
    """A references x candidates matrix: cosine with an embedder, else lexical coverage."""
    if not references or not candidates:
        return np.zeros((len(references), len(candidates)), dtype=np.float32)
    if embedder is not None:
        vectors = embedder.embed([*references, *candidates])
        result: npt.NDArray[np.float32] = vectors[: len(references)] @ vectors[len(references) :].T
        return result
    return np.array([[coverage(r, c) for c in candidates] for r in references], dtype=np.float32)


def match_threshold(embedder: Embedder | None) -> float:
    return MATCH_COSINE if embedder is not None else MATCH_COVERAGE


def similarity_name(embedder: Embedder | None) -> str:
    if embedder is not None:
        return f"{embedder.name} cosine ≥ {MATCH_COSINE}"
    return f"lexical coverage ≥ {MATCH_COVERAGE} (no embedder: BM25-only run)"
