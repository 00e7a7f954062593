"""MedLFQA: medication questions scored against must-have and nice-to-have statements.

The statements were written by an LLM for the OLAPH paper (Jeong et al. 2024), not by
experts; they stand in for a reference answer. Both measures here are automatic
proxies: there is no entailment model offline, so "matched" means similar wording or
meaning, and "unsupported" means no reference statement is similar enough; neither can
detect a contradiction that shares the reference's words.
"""

from __future__ import annotations

from typing import Any

from evident.errors import EvidentError
from evident.eval.data import medlfqa_questions
from evident.eval.metrics import matched_share, mean
from evident.eval.runner import EvalContext, Progress, Suite, SuiteOutput
from evident.eval.suites.common import match_threshold, similarity, similarity_name, timed_ask
from evident.verify.support import Verdict, judge


def run(ctx: EvalContext, limit: int | None, progress: Progress) -> SuiteOutput:
    questions = medlfqa_questions()
    if limit is not None:
        questions = questions[:limit]
    app = ctx.app()
    embedder = app.embedder
    cut = match_threshold(embedder)
    threshold = app.settings.verify.support_threshold
    items: list[dict[str, Any]] = []
    latencies: list[float] = []
    failures: list[str] = []
    for i, q in enumerate(questions, start=1):
        try:
            article, seconds = timed_ask(app, q.question)
        except EvidentError as exc:
            failures.append(f"question {q.number}: {exc}")
            progress(i, len(questions))
            continue
        latencies.append(seconds)
        statements = [s.text for s in article.statements()]
        must = matched_share(similarity(list(q.must_have), statements, embedder), cut)
        nice = matched_share(similarity(list(q.nice_to_have), statements, embedder), cut)
        reference = [*q.must_have, *q.nice_to_have]
        unsupported = [
            judge(s, reference, app.support_model, threshold).verdict is not Verdict.SUPPORTS
            for s in statements
        ]
        items.append(
            {
                "question": q.number,
                "abstained": article.abstained,
                "statements": len(statements),
                "must_have_recall": round(must, 4),
                "nice_to_have_recall": round(nice, 4),
                "unsupported": sum(unsupported),
                "seconds": round(seconds, 3),
            }
        )
        progress(i, len(questions))
    answered = [x for x in items if not x["abstained"]]
    statements_total = sum(x["statements"] for x in items)
    metrics = {
        "must_have_recall": mean([x["must_have_recall"] for x in items]),
        "must_have_recall_answered": mean([x["must_have_recall"] for x in answered]),
        "nice_to_have_recall": mean([x["nice_to_have_recall"] for x in items]),
        "unsupported_statement_share": (
            sum(x["unsupported"] for x in items) / statements_total
            if statements_total
            else float("nan")
        ),
        "abstention_rate": 1 - len(answered) / len(items) if items else float("nan"),
        "statements_per_answer": mean([x["statements"] for x in answered]),
        "questions": float(len(items)),
    }
    descriptions = {
        "must_have_recall": "share of must-have statements matched by some article statement "
        f"({similarity_name(embedder)}); abstentions score 0 (automatic proxy)",
        "must_have_recall_answered": "must-have recall over answered questions",
        "nice_to_have_recall": "the same for nice-to-have statements",
        "unsupported_statement_share": "share of article statements the verifier does not "
        "find supported by the must-have + nice-to-have statements together (claim-support "
        f"model at {threshold}; automatic proxy for 'unsupported or contradicting')",
        "abstention_rate": "share of questions evident declined to answer",
        "statements_per_answer": "statements in an answered article",
        "questions": "MedLFQA medication questions asked",
    }
    notes = [
        "The staged library has little drug-monograph text: MedQuAD's MedlinePlus drug "
        "answers were removed upstream for copyright, and MedicationQA's answers are not "
        "ingested (evaluation only), so many medication questions have no evidence and "
        "abstain. That is the main limit on recall here.",
        "An article statement can be true and well cited yet absent from the reference "
        "statements; the unsupported share counts it as unsupported.",
    ]
    if failures:
        notes.append(f"{len(failures)} questions failed: {'; '.join(failures[:3])}")
    return SuiteOutput(
        metrics=metrics,
        descriptions=descriptions,
        split="MedLFQA medication_qa_test (666 questions; no tuning)",
        tuning="none",
        distributions={
            "must-have recall per question": [x["must_have_recall"] for x in items],
            "unsupported statements per answer": [float(x["unsupported"]) for x in answered],
        },
        latencies=latencies,
        items=items,
        notes=notes,
    )


SUITE = Suite(
    name="medlfqa",
    title="MedLFQA: medication answers against must-have statements",
    summary="Must-have recall and unsupported-statement share (automatic proxies)",
    run=run,
)
