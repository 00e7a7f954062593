"""Answer benchmark: how fast `ask` is and how well its citations hold up.

- Ask latency (p50/p95) on the bundled demo library, over the seed questions and other
  questions in and out of its scope, each asked once in a fresh process state per question
  (the sentence-vector cache is cleared between questions, so every ask is cold).
- Ask latency on the full staged-data library over BioASQ summary questions, with the
  verify stage's citation recall and precision (ALCE-style, see verify/support.py) and the
  share of cited PMIDs that are BioASQ gold documents.
- The abstention rate on questions whose gold PMIDs were removed from the library comes
  from the evaluation harness's abstain suite (evident.eval.suites.abstain), run here on
  its own sample so the two numbers are the same measurement.
"""

from __future__ import annotations

import platform
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bench.library import open_library
from bench.metrics import percentile
from bench.retrieval import bench_settings
from evident import __version__
from evident.app import App
from evident.eval.data import bioasq_questions
from evident.eval.suites.abstain import DEMO_IN_SCOPE, DEMO_OUT_OF_SCOPE

AREA = "answers"
TITLE = "Answers"
SEED = 20261123
BIOASQ_SAMPLE = 150

Log = Callable[[str], None]

DEMO_QUESTIONS = (
    *DEMO_IN_SCOPE,
    "What is the treatment for calcific periarthritis of the first metatarsophalangeal joint?",
    "How is tumoral calcinosis of the foot managed?",
    "When should a soft tissue mass of the leg be referred to a sarcoma centre?",
    "What is the treatment for metatarsalgia?",
    "How is Charcot foot diagnosed?",
    "What are the complications of a distal minimally invasive metatarsal osteotomy?",
    "How is midportion Achilles tendinopathy treated?",
    "What is myositis ossificans?",
    *DEMO_OUT_OF_SCOPE,
)


def _ask_cold(app: App, question: str) -> tuple[Any, float]:
    start = time.perf_counter()
    article = app.ask(question)
    return article, time.perf_counter() - start


def _latency(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 50) * 1000, 1),
        "p95": round(percentile(values, 95) * 1000, 1),
        "n": len(values),
    }


def _demo(log: Log, limit: int | None) -> dict[str, Any]:
    from bench.library import open_demo_library

    app = open_demo_library(AREA, log)
    questions = list(DEMO_QUESTIONS[:limit] if limit else DEMO_QUESTIONS)
    app.ask(questions[0])  # load the model weights and the index once
    rows = []
    for question in questions:
        article, seconds = _ask_cold(app, question)
        rows.append(
            {
                "question": question,
                "seconds": round(seconds, 3),
                "abstained": article.abstained,
                "sections": len(article.sections),
                "statements": len(article.statements()),
                "references": len(article.references),
            }
        )
    app.store.close()
    return {
        "library_documents": 85,
        "questions": rows,
        "latency_ms": _latency([r["seconds"] for r in rows]),
        "answered": sum(not r["abstained"] for r in rows),
    }


def _staged(log: Log, limit: int | None) -> dict[str, Any]:
    library = open_library(bench_settings(), log=log)
    app = library.app
    questions = bioasq_questions("summary")
    sample = random.Random(SEED).sample(questions, min(limit or BIOASQ_SAMPLE, len(questions)))
    app.ask(sample[0].body)
    latencies, recall, precision, gold_share, abstained = [], [], [], [], 0
    answered_latencies: list[float] = []
    for n, q in enumerate(sample, start=1):
        article, seconds = _ask_cold(app, q.body)
        latencies.append(seconds)
        if article.abstained:
            abstained += 1
        else:
            answered_latencies.append(seconds)
            recall.append(article.metrics.get("citation_recall", 0.0))
            precision.append(article.metrics.get("citation_precision", 0.0))
            pmids = {r.meta.pmid for r in article.references if r.meta.pmid}
            if pmids:
                gold_share.append(len(pmids & set(q.gold_pmids)) / len(pmids))
        if n % 25 == 0:
            log(f"answers: {n}/{len(sample)} BioASQ summary questions")

    def avg(values: list[float]) -> float | None:
        return round(sum(values) / len(values), 4) if values else None

    return {
        "library_passages": app.store.count_chunks(),
        "library_version": app.store.library_version(),
        "bioasq_summary_questions": len(sample),
        "latency_ms": _latency(latencies),
        # Abstentions return early, so answered questions are timed on their own too.
        "answered_latency_ms": _latency(answered_latencies) if answered_latencies else None,
        "abstained": abstained,
        "citation_recall": avg(recall),
        "citation_precision": avg(precision),
        "cited_pmids_gold_share": avg(gold_share),
    }


def _abstention(log: Log, limit: int | None) -> dict[str, Any]:
    from evident.eval.runner import EvalContext
    from evident.eval.suites import abstain

    library = open_library(bench_settings(), log=log)
    ctx = EvalContext(library.app.settings, open_app=lambda: library.app)
    output = abstain.run(ctx, limit, lambda done, total: None)
    return {k: v for k, v in output.metrics.items()}


def run(limit: int | None = None, log: Log = print) -> dict[str, Any]:
    """Run the answer benchmark (limit caps the question counts for quick runs)."""
    started = time.perf_counter()
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "package_version": __version__,
        "machine": {"cores": __import__("os").cpu_count(), "python": platform.python_version()},
        "targets": {"p50_ms": 500, "p95_ms": 1500},
    }
    log("answers: demo library …")
    results["demo"] = _demo(log, limit)
    log("answers: full staged library …")
    results["staged"] = _staged(log, limit)
    log("answers: abstention with gold evidence removed …")
    results["abstention"] = _abstention(log, limit)
    results["seconds"] = round(time.perf_counter() - started, 1)
    return results


def markdown(results: dict[str, Any]) -> str:
    demo, staged, ab = results["demo"], results["staged"], results["abstention"]

    def pct(value: Any) -> str:
        return "—" if value is None else f"{100 * float(value):.1f} %"

    lines = [
        f"Measured {results['date'][:10]} on {results['machine']['cores']} cores, evident "
        f"{results['package_version']}. Target: ask p50 ≤ 500 ms, p95 ≤ 1,500 ms. Every ask "
        "is cold (no cached sentence vectors); model weights and the index are loaded once.",
        "",
        "| library | questions | p50 ms | p95 ms | answered |",
        "|---|---|---|---|---|",
        f"| demo ({demo['library_documents']} documents) | {demo['latency_ms']['n']} | "
        f"{demo['latency_ms']['p50']} | {demo['latency_ms']['p95']} | "
        f"{demo['answered']} of {demo['latency_ms']['n']} |",
        f"| staged data ({staged['library_passages']:,} passages) | "
        f"{staged['bioasq_summary_questions']} BioASQ summary | {staged['latency_ms']['p50']} | "
        f"{staged['latency_ms']['p95']} | "
        f"{staged['bioasq_summary_questions'] - staged['abstained']} of "
        f"{staged['bioasq_summary_questions']} |",
        *(
            [
                f"| staged data, answered questions only | "
                f"{staged['answered_latency_ms']['n']} | {staged['answered_latency_ms']['p50']} | "
                f"{staged['answered_latency_ms']['p95']} | all |"
            ]
            if staged.get("answered_latency_ms")
            else []
        ),
        "",
        "An abstention returns early, so the answered-only row is the fair latency figure. "
        "Latency is `App.ask` (retrieval, composition, verification, reader adaptation); "
        "`evident ask` and the web app also check up to six candidate follow-ups against "
        "the composer's evidence gate (retrieval only, no article written), about 0.1 s on "
        "the demo library.",
        "",
        "| citation measure (BioASQ summary, staged library) | value |",
        "|---|---|",
        f"| citation recall (statements supported by their citations, before removal) | "
        f"{pct(staged['citation_recall'])} |",
        f"| citation precision (citations that support their statement) | "
        f"{pct(staged['citation_precision'])} |",
        f"| cited PMIDs that are BioASQ gold documents | {pct(staged['cited_pmids_gold_share'])} |",
        "",
        "Extractive statements quote their passage verbatim, so the verifier's recall and "
        "precision are near 1 by construction; the gold-PMID share is the harder test of "
        "whether the right evidence was cited (other relevant abstracts in the library count "
        "as misses).",
        "",
        "| abstention | rate |",
        "|---|---|",
        f"| abstained when the gold evidence was removed | "
        f"{pct(ab.get('abstained_when_evidence_removed'))} |",
        f"| answered when the evidence is present | "
        f"{pct(ab.get('answered_when_evidence_present'))} |",
        "| demo: out-of-scope questions abstained | "
        f"{pct(ab.get('demo_out_of_scope_abstained'))} |",
        f"| demo: in-scope questions answered | {pct(ab.get('demo_in_scope_answered'))} |",
    ]
    return "\n".join(lines)


def summary(results: dict[str, Any]) -> str:
    d, s = results["demo"]["latency_ms"], results["staged"]["latency_ms"]
    return (
        f"demo ask p50 {d['p50']} ms p95 {d['p95']} ms; staged ask p50 {s['p50']} ms "
        f"p95 {s['p95']} ms; gold-PMID share {results['staged']['cited_pmids_gold_share']}; "
        f"abstained when evidence removed "
        f"{results['abstention'].get('abstained_when_evidence_removed')}"
    )
