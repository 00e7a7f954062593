"""Metric functions on hand-made inputs (no data needed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evident.eval.metrics import (
    best_threshold,
    matched_share,
    prf,
    reciprocal_rank,
    roc_auc,
    rouge_l,
    spearman,
)


def test_rouge_l_is_one_for_identical_text_and_zero_for_nothing() -> None:
    assert rouge_l("Metformin lowers glucose.", ["Metformin lowers glucose."]) == pytest.approx(1)
    assert rouge_l("", ["Metformin lowers glucose."]) == 0.0
    assert 0 < rouge_l("metformin lowers blood sugar", ["Metformin lowers glucose."]) < 1


def test_matched_share_counts_reference_rows_reaching_the_cut() -> None:
    sim = np.array([[0.9, 0.1], [0.2, 0.65], [0.71, 0.0]], dtype=np.float32)
    assert matched_share(sim, 0.7) == pytest.approx(2 / 3)
    assert matched_share(np.zeros((2, 0), dtype=np.float32), 0.7) == 0.0


def test_prf_and_best_threshold() -> None:
    got = prf([True, True, False, False], [True, False, True, False])
    assert got == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "accuracy": 0.5}
    cut, f1 = best_threshold([0.9, 0.8, 0.3, 0.1], [True, True, False, False])
    assert 0.3 < cut < 0.8 and f1 == 1.0


def test_ranking_metrics() -> None:
    assert reciprocal_rank([False, False, True]) == pytest.approx(1 / 3)
    assert reciprocal_rank([False]) == 0.0
    assert spearman([1, 2, 3], [1, 2, 3]) == pytest.approx(1.0)
    assert math.isnan(spearman([1, 1], [1, 2]))
    assert roc_auc([0.9, 0.1], [True, False]) == 1.0
