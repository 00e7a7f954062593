"""Hybrid retrieval: BM25 + dense, reciprocal-rank fusion, evidence priors, MMR."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from evident.config import IndexSettings
from evident.errors import InvalidInput
from evident.index.build import KINDS, SearchIndex
from evident.index.vocab import Vocabulary, expand_query
from evident.models import DocumentKind, Hit
from evident.protocols import Embedder
from evident.store.sqlite import SqliteStore

# Strength of evidence by kind, for the prior (guideline > review > trial > observational …).
KIND_WEIGHT: dict[DocumentKind, float] = {
    DocumentKind.GUIDELINE: 1.0,
    DocumentKind.SYSTEMATIC_REVIEW: 0.85,
    DocumentKind.RANDOMISED_TRIAL: 0.7,
    DocumentKind.OBSERVATIONAL: 0.5,
    DocumentKind.NARRATIVE_REVIEW: 0.4,
    DocumentKind.TEXTBOOK: 0.4,
    DocumentKind.UNKNOWN: 0.4,
    DocumentKind.CASE_REPORT: 0.3,
    DocumentKind.PATIENT_INFORMATION: 0.3,
}
_KIND_WEIGHTS = np.array([KIND_WEIGHT[k] for k in KINDS], dtype=np.float32)


@dataclass(frozen=True)
class Filters:
    """Restrict retrieval to some kinds of evidence and a range of years."""

    kinds: tuple[DocumentKind, ...] = ()
    year_from: int | None = None
    year_to: int | None = None

    def mask(self, index: SearchIndex) -> npt.NDArray[np.float32] | None:
        if not self.kinds and self.year_from is None and self.year_to is None:
            return None
        keep = np.ones(len(index.chunk_ids), dtype=bool)
        if self.kinds:
            codes = [KINDS.index(k) for k in self.kinds]
            keep &= np.isin(index.kinds, codes)
        if self.year_from is not None:
            keep &= index.years >= self.year_from
        if self.year_to is not None:
            keep &= (index.years <= self.year_to) & (index.years > 0)
        return keep.astype(np.float32)


@dataclass(frozen=True)
class Scored:
    row: int
    score: float
    ranks: dict[str, int]


def fuse(
    rankings: dict[str, list[tuple[int, float]]], weights: dict[str, float], rrf_k: int
) -> dict[int, Scored]:
    """Weighted reciprocal-rank fusion of several rankings of rows."""
    scores: dict[int, float] = {}
    ranks: dict[int, dict[str, int]] = {}
    for name, ranking in rankings.items():
        for rank, (row, _) in enumerate(ranking, start=1):
            scores[row] = scores.get(row, 0.0) + weights[name] / (rrf_k + rank)
            ranks.setdefault(row, {})[name] = rank
    return {row: Scored(row, s, ranks[row]) for row, s in scores.items()}


def apply_priors(
    fused: dict[int, Scored], index: SearchIndex, settings: IndexSettings
) -> dict[int, Scored]:
    """Nudge fused scores toward stronger and more recent evidence.

    The prior multiplies the score by at most (1 ± kind_prior/2), so it reorders near
    ties but cannot lift an irrelevant guideline above a clearly better passage.
    """
    if not fused or (settings.kind_prior == 0 and settings.recency_prior == 0):
        return fused
    rows = np.fromiter(fused, dtype=np.int64)
    kind_term = _KIND_WEIGHTS[index.kinds[rows]] - 0.5
    years = index.years[rows].astype(np.float32)
    recency = np.where(years > 0, np.clip((years - 1990) / 35.0, 0, 1) - 0.5, 0.0)
    factor = 1 + settings.kind_prior * kind_term + settings.recency_prior * recency
    return {
        int(row): Scored(int(row), fused[int(row)].score * float(f), fused[int(row)].ranks)
        for row, f in zip(rows, factor, strict=True)
    }


def diversify(
    candidates: list[Scored], index: SearchIndex, k: int, settings: IndexSettings
) -> list[Scored]:
    """Pick k hits by maximal marginal relevance so one document does not fill the list.

    Similarity between two hits is their vector cosine, or 1 when they share a document;
    no document contributes more than max_per_document hits.
    """
    if not candidates:
        return []
    rows = np.array([c.row for c in candidates])
    relevance = np.array([c.score for c in candidates], dtype=np.float32) / candidates[0].score
    docs = [index.document_ids[r] for r in rows]
    doc_codes = np.unique(docs, return_inverse=True)[1]
    vectors = index.dense.vectors[rows] if index.dense is not None else None
    # redundancy[i]: highest similarity of candidate i to anything already chosen.
    redundancy = np.zeros(len(candidates), dtype=np.float32)
    per_doc = np.zeros(doc_codes.max() + 1, dtype=np.int32)
    available = np.ones(len(candidates), dtype=bool)
    lam = settings.mmr_lambda
    chosen: list[Scored] = []
    while len(chosen) < k:
        open_ = available & (per_doc[doc_codes] < settings.max_per_document)
        if not open_.any():
            break
        value = np.where(open_, lam * relevance - (1 - lam) * redundancy, -np.inf)
        i = int(np.argmax(value))
        chosen.append(candidates[i])
        available[i] = False
        per_doc[doc_codes[i]] += 1
        same_doc = doc_codes == doc_codes[i]
        redundancy[same_doc] = 1.0
        if vectors is not None:
            np.maximum(redundancy, vectors @ vectors[i], out=redundancy)
    return chosen


def retrieve(
    store: SqliteStore,
    index: SearchIndex,
    embedder: Embedder | None,
    query: str,
    settings: IndexSettings,
    *,
    k: int = 10,
    filters: Filters | None = None,
    vocabulary: Vocabulary | None = None,
    methods: Sequence[str] = ("bm25", "dense"),
    query_vector: npt.NDArray[np.float32] | None = None,
) -> list[Hit]:
    """Return the k passages that best answer a question.

    Args:
        methods: which retrievers to fuse ("bm25", "dense"); dense is skipped when the
            library has no vectors.
        vocabulary: when given, condition synonyms are added to the BM25 query.
        query_vector: a precomputed embedding of the query (saves a model call).

    Raises:
        InvalidInput: the query is empty.
    """
    query = query.strip()
    if not query:
        raise InvalidInput("the question is empty; type a clinical question")
    mask = (filters or Filters()).mask(index)
    rankings: dict[str, list[tuple[int, float]]] = {}
    if "bm25" in methods:
        lexical_query = query
        if vocabulary is not None:
            lexical_query = " ".join([query, *expand_query(query, vocabulary)])
        rankings["bm25"] = index.lexical.search(lexical_query, settings.candidates, mask)
    use_dense = "dense" in methods and index.dense is not None and embedder is not None
    if use_dense and embedder is not None and index.dense is not None:
        if query_vector is None:
            query_vector = embedder.embed([query])[0]
        rankings["dense"] = index.dense.search(query_vector, settings.candidates, mask)
    weights = {"bm25": settings.lexical_weight, "dense": settings.dense_weight}
    fused = apply_priors(fuse(rankings, weights, settings.rrf_k), index, settings)
    ordered = sorted(fused.values(), key=lambda s: -s.score)[: max(k * 5, 50)]
    picked = diversify(ordered, index, k, settings)
    chunks = store.get_chunks([index.chunk_ids[p.row] for p in picked])
    metas = store.document_metas(index.document_ids[p.row] for p in picked)
    hits = []
    for p in picked:
        chunk = chunks.get(index.chunk_ids[p.row])
        if chunk is None:  # removed since the index was loaded
            continue
        hits.append(
            Hit(
                chunk=chunk,
                document=metas[chunk.document_id],
                document_id=chunk.document_id,
                score=p.score,
                ranks=p.ranks,
            )
        )
    return hits
