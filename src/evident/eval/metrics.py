"""Metrics: ROUGE-L, embedding statement recall, precision/recall/F1, MRR, Spearman."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.stats import spearmanr

from evident.errors import BackendUnavailable

Vectors = npt.NDArray[np.float32]


@lru_cache(maxsize=1)
def _rouge() -> Any:
    try:
        from rouge_score import rouge_scorer
    except ImportError:  # pragma: no cover - the eval extra is missing
        raise BackendUnavailable(
            "ROUGE needs the eval extra: pip install 'evident[eval]' (rouge-score==0.1.2)"
        ) from None
    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


def rouge_l(prediction: str, references: Sequence[str]) -> float:
    """ROUGE-L F-measure of prediction against the best-matching reference (0 if empty)."""
    if not prediction.strip() or not references:
        return 0.0
    return max(float(_rouge().score(ref, prediction)["rougeL"].fmeasure) for ref in references)


def matched_share(similarity: Vectors, threshold: float) -> float:
    """Share of reference rows (rows of a references x candidates similarity matrix) that
    some candidate reaches the threshold for; 0 when there are no candidates."""
    if similarity.shape[0] == 0:
        return float("nan")
    if similarity.shape[1] == 0:
        return 0.0
    return float(np.mean(similarity.max(axis=1) >= threshold))


def prf(predicted: Sequence[bool], gold: Sequence[bool]) -> dict[str, float]:
    """Precision, recall, F1 and accuracy of binary predictions."""
    p = np.asarray(predicted, dtype=bool)
    g = np.asarray(gold, dtype=bool)
    tp = float(np.sum(p & g))
    precision = tp / p.sum() if p.sum() else 0.0
    recall = tp / g.sum() if g.sum() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = float(np.mean(p == g)) if len(g) else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "accuracy": accuracy}


def best_threshold(scores: Sequence[float], gold: Sequence[bool]) -> tuple[float, float]:
    """Return (threshold, F1): the cut on scores (predict score >= t) with the best F1.

    Candidates are midpoints between distinct scores; ties go to the higher threshold
    (the stricter verifier).
    """
    s = np.asarray(scores, dtype=float)
    values = np.unique(np.round(s, 6))
    cuts = np.concatenate([[values[0] - 1e-6], (values[:-1] + values[1:]) / 2, [values[-1] + 1e-6]])
    best = (float(cuts[0]), -1.0)
    for cut in cuts:
        f1 = prf(list(s >= cut), gold)["f1"]
        if f1 >= best[1]:
            best = (float(cut), f1)
    return round(best[0], 4), best[1]


def roc_auc(scores: Sequence[float], gold: Sequence[bool]) -> float:
    """Area under the ROC curve (the chance a positive outscores a negative)."""
    s = np.asarray(scores, dtype=float)
    g = np.asarray(gold, dtype=bool)
    pos, neg = s[g], s[~g]
    if not len(pos) or not len(neg):
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


def reciprocal_rank(ranked_relevance: Sequence[bool]) -> float:
    """1/rank of the first relevant item, 0 if none is relevant."""
    for i, rel in enumerate(ranked_relevance, start=1):
        if rel:
            return 1.0 / i
    return 0.0


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman rank correlation; NaN when either side is constant or too short."""
    if len(a) < 2 or len(set(a)) < 2 or len(set(b)) < 2:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def mean(values: Sequence[float]) -> float:
    clean = [v for v in values if v == v]  # drop NaN
    return float(np.mean(clean)) if clean else float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else float("nan")
