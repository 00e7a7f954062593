"""ExpertQA: does evident's verifier agree with experts on whether a citation supports a claim?

Each medical claim in ExpertQA (Malaviya et al. 2024) was judged by a domain expert
against the evidence its answer cited: Complete, Partial (or Incomplete), or Missing
support. evident's verifier (verify.support.judge: exact checks, then the claim-support
model) runs on the same claim and evidence texts; its P(supports) is the score. The
threshold is chosen on the *_val files (best F1) and reported on the *_test files. The
lexical score evident used before the model (content-word coverage averaged with the best
MiniLM sentence cosine) runs in the same pass, for comparison.
"""

from __future__ import annotations

import time

import numpy as np

from evident.eval.data import ClaimPair, expertqa_pairs
from evident.eval.metrics import best_threshold, prf, roc_auc
from evident.eval.runner import EvalContext, Progress, Suite, SuiteOutput
from evident.protocols import Embedder
from evident.verify.support import coverage, judge

POSITIVE = "Complete"


def lexical_score(claim: str, evidence: list[str], embedder: Embedder | None) -> float:
    """The score evident used before the claim-support model, kept here as a baseline."""
    from evident.ingest.chunk import split_sentences

    joined = " ".join(evidence)
    if " ".join(claim.lower().split()) in " ".join(joined.lower().split()):
        return 1.0
    lexical = coverage(claim, joined)
    if embedder is None:
        return lexical
    sentences = [joined[s:e] for s, e in split_sentences(joined)] or [joined]
    vectors = embedder.embed([claim, *sentences])
    return 0.5 * lexical + 0.5 * max(float(np.max(vectors[1:] @ vectors[0])), 0.0)


def _scores(
    ctx: EvalContext,
    pairs: list[ClaimPair],
    progress: Progress,
    done: int,
    total: int,
    latencies: list[float] | None = None,
) -> tuple[list[float], list[float]]:
    """(model scores, lexical scores) per pair."""
    model = ctx.support_model()
    embedder = ctx.embedder()
    threshold = ctx.settings.verify.support_threshold
    out, old = [], []
    for i, pair in enumerate(pairs, start=1):
        start = time.perf_counter()
        out.append(judge(pair.claim, list(pair.evidence), model, threshold).score)
        if latencies is not None:
            latencies.append(time.perf_counter() - start)
        old.append(lexical_score(pair.claim, list(pair.evidence), embedder))
        progress(done + i, total)
    return out, old


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
    val_scores, val_lexical = _scores(ctx, val, progress, 0, total)
    latencies: list[float] = []
    test_scores, test_lexical = _scores(ctx, test, progress, len(val), total, latencies)
    val_gold = [p.label == POSITIVE for p in val]
    test_gold = [p.label == POSITIVE for p in test]
    chosen, val_f1 = best_threshold(val_scores, val_gold)
    configured = ctx.settings.verify.support_threshold
    at_chosen = prf([s >= chosen for s in test_scores], test_gold)
    at_configured = prf([s >= configured for s in test_scores], test_gold)
    baseline = prf([True] * len(test_gold), test_gold)
    low, high = _bootstrap_f1(test_scores, test_gold, chosen)
    lexical_cut, _ = best_threshold(val_lexical, val_gold)
    lexical = prf([s >= lexical_cut for s in test_lexical], test_gold)
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
        "test_auc_lexical": roc_auc(test_lexical, test_gold),
        "test_f1_lexical": lexical["f1"],
    }
    descriptions = {
        "threshold_chosen_on_val": "P(supports) cut with the best F1 on the val files",
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
        "test_auc_lexical": "AUC of the lexical score used before the model (same pairs)",
        "test_f1_lexical": "F1 of the lexical score at its own best val threshold",
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
                "lexical": round(lex, 4),
            }
            for split, pairs, scores, lexicals in (
                ("val", val, val_scores, val_lexical),
                ("test", test, test_scores, test_lexical),
            )
            for p, s, lex in zip(pairs, scores, lexicals, strict=True)
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
            "The score is the claim-support model's calibrated P(supports), after the exact "
            "checks (a number the evidence lacks, a one-sided negation score 0). The model "
            "never saw ExpertQA; test_auc_lexical is the score used before it.",
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
