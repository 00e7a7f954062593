"""Claim-support benchmark: does the verifier refuse reversed edits and keep faithful ones?

- Edits of held-out library statements: every sentence of the demo library (which no model
  was trained on) edited by each perturbation kind (evident.train.perturb), judged against
  its own passage. Reversals should be refused; faithful edits accepted.
- HealthVer test and the NLI4CT 2024 contrast set (claim-support/eval-only: never trained
  on), ExpertQA test AUC beside the lexical score used before the model.
- Cost: pairs per second, an edit check, demo ask latency, weight size.
"""

from __future__ import annotations

import csv
import json
import random
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from bench.data import require
from bench.library import open_demo_library
from bench.metrics import percentile
from evident.app import App
from evident.config import Settings
from evident.eval.data import expertqa_pairs
from evident.eval.metrics import roc_auc
from evident.eval.suites.expertqa import lexical_score
from evident.train import perturb
from evident.train.pairs import swap_terms
from evident.verify.model import ClaimSupportModel
from evident.verify.support import Verdict, judge

AREA = "support"
TITLE = "Claim support"
Log = Callable[[str], None]
THRESHOLD = Settings().verify.support_threshold


def _library_sentences(app: App) -> list[tuple[str, str, str]]:
    """(document id, sentence, its passage) for every prose sentence of the demo library."""
    out = []
    for row in app.store.iter_passages():
        chunk = app.store.get_chunks([row["chunk_id"]])[row["chunk_id"]]
        for start, end in chunk.sentences:
            sentence = chunk.text[start:end]
            if 8 <= len(sentence.split()) <= 60 and sentence[-1:] in ".!?":
                out.append((chunk.document_id, sentence, chunk.text))
    return out


def _edits(app: App, model: ClaimSupportModel, limit: int | None, log: Log) -> dict[str, Any]:
    rng = random.Random(2026)
    sentences = _library_sentences(app)
    rng.shuffle(sentences)
    terms = swap_terms((d, s) for d, s, _ in sentences)
    per_kind = limit or 150
    kinds: dict[str, tuple[Callable[[str, random.Random], str | None], bool]] = {
        **{k: (f, True) for k, (f, _) in perturb.REVERSALS.items()},
        "term_swap": (lambda s, r: perturb.swap_term(s, r, terms), True),
        **{k: (f, False) for k, (f, _) in perturb.FAITHFUL.items()},
    }
    rows: dict[str, Any] = {}
    examples: list[dict[str, str]] = []
    for kind, (edit, reversal) in kinds.items():
        verdicts: Counter[str] = Counter()
        checks: Counter[str] = Counter()
        n = 0
        for _, sentence, passage in sentences:
            edited = edit(sentence, rng)
            if not edited or edited == sentence:
                continue
            j = judge(edited, [passage], model, THRESHOLD)
            verdicts[j.verdict.value] += 1
            checks[j.check] += 1
            wrong = (j.verdict is Verdict.SUPPORTS) == reversal
            if wrong and sum(1 for e in examples if e["kind"] == kind) < 3:
                examples.append({"kind": kind, "original": sentence, "edited": edited})
            n += 1
            if n >= per_kind:
                break
        refused = n - verdicts[Verdict.SUPPORTS.value]
        rows[kind] = {
            "reversal": reversal,
            "edits": n,
            "refused_share": round(refused / n, 4) if n else None,
            "accepted_share": round(1 - refused / n, 4) if n else None,
            "verdicts": dict(verdicts),
            "decided_by": dict(checks),
        }
        log(f"support: {kind}: {n} edits, refused {refused}")
    rev = [r for r in rows.values() if r["reversal"] and r["edits"]]
    faith = [r for r in rows.values() if not r["reversal"] and r["edits"]]

    def pooled(group: list[dict[str, Any]], key: str) -> float:
        total = sum(float(r[key]) * r["edits"] for r in group)
        return float(round(total / sum(r["edits"] for r in group), 4))

    return {
        "sentences_available": len(sentences),
        "by_kind": rows,
        "reversals_refused": pooled(rev, "refused_share"),
        "faithful_accepted": pooled(faith, "accepted_share"),
        "misjudged_examples": examples,
    }


def _healthver(model: ClaimSupportModel, limit: int | None) -> dict[str, Any]:
    path = require("claim-support/eval-only/healthver/healthver_test.csv")
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if limit:
        rows = rows[:limit]
    names = {"Supports": Verdict.SUPPORTS, "Refutes": Verdict.CONTRADICTS}
    gold = [names.get(r["label"], Verdict.NOT_ADDRESSED) for r in rows]
    judged = [judge(r["claim"], [r["evidence"]], model, THRESHOLD) for r in rows]
    pred = [j.verdict for j in judged]
    sup_gold = np.array([g is Verdict.SUPPORTS for g in gold])
    sup_pred = np.array([p is Verdict.SUPPORTS for p in pred])
    tpr = float((sup_pred & sup_gold).sum() / max(sup_gold.sum(), 1))
    tnr = float((~sup_pred & ~sup_gold).sum() / max((~sup_gold).sum(), 1))
    f1s = {}
    for v in Verdict:
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g is v and p is v)
        fp = sum(1 for g, p in zip(gold, pred, strict=True) if g is not v and p is v)
        fn = sum(1 for g, p in zip(gold, pred, strict=True) if g is v and p is not v)
        f1s[v.value] = round(2 * tp / max(2 * tp + fp + fn, 1), 4)
    return {
        "pairs": len(rows),
        "supports_vs_not_balanced_accuracy": round((tpr + tnr) / 2, 4),
        "supports_recall": round(tpr, 4),
        "not_supports_recall": round(tnr, 4),
        "macro_f1_3class": round(float(np.mean(list(f1s.values()))), 4),
        "f1_by_class": f1s,
        "auc_supports": round(roc_auc([j.score for j in judged], list(sup_gold)), 4),
    }


def _nli4ct(model: ClaimSupportModel, limit: int | None) -> dict[str, Any]:
    gold = json.loads(
        require("claim-support/eval-only/nli4ct/semeval2024_contrast_gold_test.json").read_text()
    )
    archive = zipfile.ZipFile(
        require("claim-support/eval-only/nli4ct/nli4ct2023_Complete_dataset.zip")
    )
    trials: dict[str, dict[str, list[str]]] = {}

    def section(trial: str, name: str) -> str:
        if trial not in trials:
            trials[trial] = json.loads(archive.read(f"Complete_dataset/CT json/{trial}.json"))
        return "\n".join(line.strip() for line in trials[trial].get(name, []) if line.strip())

    items = sorted(gold.items())
    if limit:
        items = items[:limit]
    rows = []
    for _, rec in items:
        passages = [section(rec["Primary_id"], rec["Section_id"])]
        if rec.get("Secondary_id"):
            passages.append(section(rec["Secondary_id"], rec["Section_id"]))
        j = judge(rec["Statement"], passages, model, THRESHOLD)
        predicted = "Entailment" if j.verdict is Verdict.SUPPORTS else "Contradiction"
        rows.append(
            {
                "correct": predicted == rec["Label"],
                "label": rec["Label"],
                "numerical": any(ch.isdigit() for ch in rec["Statement"]),
            }
        )

    def acc(sel: list[dict[str, Any]]) -> float | None:
        return round(sum(r["correct"] for r in sel) / len(sel), 4) if sel else None

    return {
        "statements": len(rows),
        "accuracy": acc(rows),
        "contradiction_subset_accuracy": acc([r for r in rows if r["label"] == "Contradiction"]),
        "entailment_subset_accuracy": acc([r for r in rows if r["label"] == "Entailment"]),
        "numerical_subset_accuracy": acc([r for r in rows if r["numerical"]]),
        "note": "the staged gold file carries no intervention tags, so the contradiction subset "
        "is the statements labelled Contradiction and the numerical subset those with a digit",
    }


def _expertqa(app: App, model: ClaimSupportModel, limit: int | None) -> dict[str, Any]:
    test, _ = expertqa_pairs("test")
    if limit:
        test = test[:limit]
    gold = [p.label == "Complete" for p in test]
    scores = [judge(p.claim, list(p.evidence), model, THRESHOLD).score for p in test]
    lexical = [lexical_score(p.claim, list(p.evidence), app.embedder) for p in test]
    return {
        "pairs": len(test),
        "auc_model": round(roc_auc(scores, gold), 4),
        "auc_lexical_before": round(roc_auc(lexical, gold), 4),
    }


def _cost(app: App, model: ClaimSupportModel, log: Log) -> dict[str, Any]:
    sentences = _library_sentences(app)[:64]
    pairs = [(s, p) for _, s, p in sentences]
    model.probabilities(pairs[:2])
    start = time.perf_counter()
    model.probabilities(pairs)
    pairs_per_s = len(pairs) / (time.perf_counter() - start)
    edit_times = []
    rng = random.Random(5)
    for _, s, p in sentences[:30]:
        edited = perturb.negate(s, rng) or s + " It is rare."
        t = time.perf_counter()
        judge(edited, [p], model, THRESHOLD)
        edit_times.append(time.perf_counter() - t)
    from bench.answers import DEMO_QUESTIONS

    asks = []
    app.ask(DEMO_QUESTIONS[0])
    for q in DEMO_QUESTIONS:
        t = time.perf_counter()
        app.ask(q)
        asks.append(time.perf_counter() - t)
    weights = model.directory / "weights.safetensors"
    log(f"support: {pairs_per_s:.1f} pairs/s")
    return {
        "pairs_per_second": round(pairs_per_s, 1),
        "pair_tokens_max": 128,
        "edit_check_ms_p50": round(percentile(edit_times, 50) * 1000, 1),
        "edit_check_ms_p95": round(percentile(edit_times, 95) * 1000, 1),
        "demo_ask_ms_p50": round(percentile(asks, 50) * 1000, 1),
        "demo_ask_ms_p95": round(percentile(asks, 95) * 1000, 1),
        "demo_asks": len(asks),
        "weights_mb": round(weights.stat().st_size / 1e6, 1),
    }


def run(limit: int | None = None, log: Log = print) -> dict[str, Any]:
    model = ClaimSupportModel()
    stamp = model.stamp
    app = open_demo_library(AREA, log)
    results: dict[str, Any] = {
        "model": {k: stamp[k] for k in ("name", "code_version", "data_sha256", "train_pairs")},
        "threshold": THRESHOLD,
    }
    log("support: edits of held-out library statements …")
    results["edits"] = _edits(app, model, limit, log)
    log("support: HealthVer …")
    results["healthver"] = _healthver(model, limit)
    log("support: NLI4CT contrast set …")
    results["nli4ct"] = _nli4ct(model, limit)
    log("support: ExpertQA …")
    results["expertqa"] = _expertqa(app, model, limit)
    results["cost"] = _cost(app, model, log)
    app.store.close()
    return results


def markdown(results: dict[str, Any]) -> str:
    e, h, n, x, c = (
        results["edits"],
        results["healthver"],
        results["nli4ct"],
        results["expertqa"],
        results["cost"],
    )
    lines = [
        f"The claim-support model (stamp {results['model']['code_version']}, "
        f"{results['model']['train_pairs']:,} training pairs) at threshold "
        f"{results['threshold']}. Every set here is held out: the demo library, HealthVer "
        "and NLI4CT were never trained on.",
        "",
        "| edits of library statements | edits | refused | accepted | decided by |",
        "|---|---:|---:|---:|---|",
    ]
    for kind, r in e["by_kind"].items():
        if not r["edits"]:
            continue
        decided = ", ".join(f"{k} {v}" for k, v in sorted(r["decided_by"].items()))
        lines.append(
            f"| {kind} ({'reversal' if r['reversal'] else 'faithful'}) | {r['edits']} | "
            f"{r['refused_share']:.1%} | {r['accepted_share']:.1%} | {decided} |"
        )
    lines += [
        "",
        f"Reversals refused: **{e['reversals_refused']:.1%}** (target ≥ 95 %). "
        f"Faithful edits accepted: **{e['faithful_accepted']:.1%}** (target ≥ 90 %).",
        "",
        "| held-out set | measure | value | target |",
        "|---|---|---:|---:|",
        f"| HealthVer test ({h['pairs']}) | supports vs. not, balanced accuracy | "
        f"{h['supports_vs_not_balanced_accuracy']:.3f} | ≥ 0.75 |",
        f"| HealthVer test | 3-class macro-F1 | {h['macro_f1_3class']:.3f} | reported |",
        f"| NLI4CT contrast ({n['statements']}) | accuracy | {n['accuracy']:.3f} | reported |",
        "| NLI4CT contrast | contradiction subset | "
        f"{n['contradiction_subset_accuracy']:.3f} | ≥ 0.65 |",
        f"| NLI4CT contrast | numerical subset | {n['numerical_subset_accuracy']:.3f} | ≥ 0.65 |",
        f"| ExpertQA test ({x['pairs']}) | AUC, model | {x['auc_model']:.3f} | ≥ 0.75 |",
        "| ExpertQA test | AUC, lexical score before the model | "
        f"{x['auc_lexical_before']:.3f} | |",
        "",
        f"Cost on this machine: {c['pairs_per_second']} pairs/s; an edit check p50 "
        f"{c['edit_check_ms_p50']} ms (p95 {c['edit_check_ms_p95']}); demo ask p50 "
        f"{c['demo_ask_ms_p50']} ms, p95 {c['demo_ask_ms_p95']} ms over {c['demo_asks']} "
        f"asks; weights {c['weights_mb']} MB (float16, word embeddings shared with MiniLM).",
        "",
        f"NLI4CT: {n['note']}.",
    ]
    return "\n".join(lines)


def summary(results: dict[str, Any]) -> str:
    e, h, x = results["edits"], results["healthver"], results["expertqa"]
    return (
        f"reversals refused {e['reversals_refused']:.1%}, faithful accepted "
        f"{e['faithful_accepted']:.1%}; HealthVer balanced acc "
        f"{h['supports_vs_not_balanced_accuracy']:.3f}; ExpertQA AUC {x['auc_model']:.3f} "
        f"(lexical {x['auc_lexical_before']:.3f})"
    )
