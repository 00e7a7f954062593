"""Ranking metrics over document identifiers (PMIDs), each counted once in rank order."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def collapse(ids: Iterable[str | None]) -> list[str | None]:
    """Keep the first hit of each id, in rank order.

    A later hit on an id already listed is dropped (the reader has that document), while
    a hit without an id stays as a non-relevant entry that occupies its rank.
    """
    seen: set[str] = set()
    out: list[str | None] = []
    for item in ids:
        if item is None:
            out.append(None)
        elif item not in seen:
            seen.add(item)
            out.append(item)
    return out


def recall_at(ranked: Sequence[str | None], gold: set[str], k: int) -> float:
    """Share of the gold ids found in the first k entries."""
    if not gold:
        return 0.0
    return len({r for r in ranked[:k] if r is not None} & gold) / len(gold)


def ndcg_at(ranked: Sequence[str | None], gold: set[str], k: int) -> float:
    """nDCG with binary gains; the ideal list holds min(|gold|, k) relevant entries."""
    if not gold:
        return 0.0
    dcg = sum(1 / math.log2(i + 2) for i, r in enumerate(ranked[:k]) if r in gold)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(len(gold), k)))
    return dcg / ideal


def reciprocal_rank(ranked: Sequence[str | None], gold: set[str]) -> float:
    """1 / rank of the first gold entry, 0 when none was retrieved."""
    for i, r in enumerate(ranked):
        if r in gold:
            return 1 / (i + 1)
    return 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
