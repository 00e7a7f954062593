"""ExpertQA: does evident's verifier agree with experts on whether a citation supports a claim?

Each medical claim in ExpertQA (Malaviya et al. 2024) was judged by a domain expert
against the evidence its answer cited: Complete, Partial (or Incomplete), or Missing
support. evident's support_score runs on the same claim and evidence texts. The threshold
is chosen on the *_val files (best F1) and reported on the *_test files.
"""

from __future__ import annotations

import time

import numpy as np

from evident.eval.data import ClaimPair, expertqa_pairs
from evident.eval.metrics import best_threshold, prf, roc_auc
from evident.eval.runner import EvalContext, Progress, Suite, SuiteOutput
from evident.verify.support import support_score

POSITIVE = "Complete"


def _scores(
    ctx: EvalContext,
    pairs: list[ClaimPair],
    progress: Progress,
    done: int,
    total: int,
    latencies: list[float] | None = None,
) -> list[float]:
    embedder = ctx.embedder()
    out = []
    for i, pair in enumerate(pairs, start=1):
        start = time.perf_counter()
        out.append(support_score(pair.claim, list(pair.evidence), embedder))
        if latencies is not None:
            latencies.append(time.perf_counter() - start)
        progress(done + i, total)
    return out


def _bootstrap_f1(scores: list[float], gold: list[bool], cut: float) -> tuple[float, float]:
    """A seeded 95 % bootstrap interval for F1 at the cut (resampling pairs)."""
    if not scores:
        return float("nan"), float("nan")
    rng = np.random.default_rng(0)
    s = np.asarray(scores)
    g = np.asarray(gold)
    f1s = []
    for _ in range(2000):
        i = rng.integers(0, len(s), len(s))
        f1s.append(prf(list(s[i] >= cut), list(g[i]))["f1"])
    return float(np.percentile(f1s, 2.5)), float(np.percentile(f1s, 97.5))


def run(ctx: EvalContext, limit: int | None, progress: Progress) -> SuiteOutput:
    val, val_counts = expertqa_pairs("val")
    test, test_counts = expertqa_pairs("test")
    if limit is not None:
        val, test = val[:limit], test[:limit]
    total = len(val) + len(test)
    val_scores = _scores(ctx, val, progress, 0, total)
    latencies: list[float] = []
    test_scores = _scores(ctx, test, progress, len(val), total, latencies)
    val_gold = [p.label == POSITIVE for p in val]
    test_gold = [p.label == POSITIVE for p in test]
    chosen, val_f1 = best_threshold(val_scores, val_gold)
    configured = ctx.settings.verify.support_threshold
    at_chosen = prf([s >= chosen for s in test_scores], test_gold)
    at_configured = prf([s >= configured for s in test_scores], test_gold)
    baseline = prf([True] * len(test_gold), test_gold)
    low, high = _bootstrap_f1(test_scores, test_gold, chosen)
    metrics = {
        "threshold_chosen_on_val": chosen,
        "val_f1": val_f1,
        "test_pairs": float(len(test)),
        "test_positive_share": float(np.mean(test_gold)) if test_gold else float("nan"),
        "test_precision": at_chosen["precision"],
        "test_recall": at_chosen["recall"],
        "test_f1": at_chosen["f1"],
        "test_f1_ci_low": low,
        "test_f1_ci_high": high,
        "test_accuracy": at_chosen["accuracy"],
        "test_auc": roc_auc(test_scores, test_gold),
        "test_accepted_share": float(np.mean([s >= chosen for s in test_scores])),
        "test_f1_all_supported_baseline": baseline["f1"],
        "test_f1_at_configured_threshold": at_configured["f1"],
    }
    descriptions = {
        "threshold_chosen_on_val": "support_score cut with the best F1 on the val files",
        "val_f1": "F1 on val at that threshold (tuning data: optimistic)",
        "test_pairs": "claim-evidence pairs reported on (medical test questions not in val)",
        "test_positive_share": "share of test pairs the experts judged Complete",
        "test_precision": "of pairs the verifier accepts, share experts judged Complete",
        "test_recall": "of Complete pairs, share the verifier accepts",
        "test_f1": "F1 of the verifier against the expert label (positive = Complete)",
        "test_f1_ci_low": "2.5th percentile of test F1 over 2,000 bootstrap resamples",
        "test_f1_ci_high": "97.5th percentile of test F1 over 2,000 bootstrap resamples",
        "test_accuracy": "share of pairs where verifier and expert agree",
        "test_auc": "chance a Complete pair outscores a Partial/Missing one (threshold-free)",
        "test_accepted_share": "share of test pairs the verifier accepts at that threshold",
        "test_f1_all_supported_baseline": "F1 of accepting every pair (what F1 gives for free)",
        "test_f1_at_configured_threshold": f"F1 at the configured threshold ({configured})",
    }
    by_label: dict[str, list[float]] = {}
    for s, p in zip(test_scores, test, strict=True):
        by_label.setdefault(p.label, []).append(round(s, 4))
    return SuiteOutput(
        metrics=metrics,
        descriptions=descriptions,
        split="ExpertQA domain_test + rand_test, Healthcare / Medicine, deduplicated on "
        "question, minus questions also in val",
        tuning="ExpertQA domain_val + rand_val (Healthcare / Medicine): the threshold",
        latencies=latencies,
        distributions={f"support score ({label})": v for label, v in sorted(by_label.items())},
        items=[
            {
                "split": split,
                "question": p.question_index,
                "system": p.system,
                "complete": p.label == POSITIVE,
                "score": round(s, 4),
            }
            for split, pairs, scores in (("val", val, val_scores), ("test", test, test_scores))
            for p, s in zip(pairs, scores, strict=True)
        ],
        notes=[
            "Positive = Complete. Partial and Incomplete count as not supported (negative), "
            "as Missing does: evident keeps a statement only when its evidence supports "
            "all of it. In these files every Missing claim comes without evidence text, so "
            "the negatives that remain are all Partial or Incomplete: the hard cases.",
            "Pairs whose claim has no evidence text (nothing cited, or only a URL whose page "
            "text the data set does not hold) and "
            "pairs labelled N/A are left out: "
            f"val {val_counts['no_evidence']} + {val_counts['unlabelled']}, "
            f"test {test_counts['no_evidence']} + {test_counts['unlabelled']}.",
            f"{test_counts['dropped_overlap_with_val']} test questions also occur in val "
            "(the domain_* and rand_* files split one pool) and are left out of test.",
            "support_score is lexical coverage plus MiniLM cosine; there is no entailment "
            "(NLI) model offline, so a claim that paraphrases, negates or over-generalises "
            "its evidence can score like one the evidence supports.",
        ],
        extra={
            "val_counts": val_counts,
            "test_counts": test_counts,
            "val_pairs": len(val),
            "configured_threshold": configured,
        },
    )


SUITE = Suite(
    name="expertqa",
    title="ExpertQA: verifier agreement with expert support labels",
    summary="Citation-support verifier vs. expert claim-level labels (calibrates the threshold)",
    run=run,
    needs_library=False,
)
