"""BioASQ summary questions: answer each from the full library, score against the ideal answer.

The library is built from every staged passage, including the BioASQ gold snippets
themselves (each PMID's snippets become one document), so the evidence for every
question is in it: this measures whether evident finds, selects and keeps the right
sentences, not whether evidence exists.
"""

from __future__ import annotations

from typing import Any

from evident.errors import EvidentError
from evident.eval.data import bioasq_questions
from evident.eval.metrics import matched_share, mean, rouge_l
from evident.eval.runner import EvalContext, Progress, Suite, SuiteOutput
from evident.eval.suites.common import (
    match_threshold,
    sentences,
    similarity,
    similarity_name,
    timed_ask,
)


def run(ctx: EvalContext, limit: int | None, progress: Progress) -> SuiteOutput:
    questions = bioasq_questions("summary")
    if limit is not None:
        questions = questions[:limit]
    app = ctx.app()
    embedder = app.embedder
    cut = match_threshold(embedder)
    items: list[dict[str, Any]] = []
    latencies: list[float] = []
    failures: list[str] = []
    for i, q in enumerate(questions, start=1):
        try:
            article, seconds = timed_ask(app, q.body)
        except EvidentError as exc:
            failures.append(f"{q.question_id}: {exc}")
            progress(i, len(questions))
            continue
        latencies.append(seconds)
        statements = [s.text for s in article.statements()]
        rouge = rouge_l(" ".join(statements), q.ideal)
        recall = 0.0
        if statements:
            for ideal in q.ideal:
                refs = sentences(ideal) or [ideal]
                sim = similarity(refs, statements, embedder)
                recall = max(recall, matched_share(sim, cut))
        cited = [r.meta.pmid for r in article.references if r.meta.pmid]
        gold_cited = sum(1 for p in cited if p in q.gold_pmids)
        items.append(
            {
                "id": q.question_id,
                "year": q.year,
                "abstained": article.abstained,
                "statements": len(statements),
                "rouge_l": round(rouge, 4),
                "statement_recall": round(recall, 4),
                "cited_pmids": len(cited),
                "cited_gold": gold_cited,
                "seconds": round(seconds, 3),
                "kept": article.metrics.get("statements_kept", 0.0),
                "composed": article.metrics.get("statements", 0.0),
            }
        )
        progress(i, len(questions))
    answered = [x for x in items if not x["abstained"]]
    n_cited = sum(x["cited_pmids"] for x in items)
    composed = sum(x["composed"] for x in items)
    metrics = {
        "rouge_l": mean([x["rouge_l"] for x in items]),
        "statement_recall": mean([x["statement_recall"] for x in items]),
        "rouge_l_answered": mean([x["rouge_l"] for x in answered]),
        "statement_recall_answered": mean([x["statement_recall"] for x in answered]),
        "cited_pmids_gold_share": sum(x["cited_gold"] for x in items) / n_cited if n_cited else 0.0,
        "abstention_rate": 1 - len(answered) / len(items) if items else float("nan"),
        "statements_per_answer": mean([x["statements"] for x in answered]),
        "verifier_kept_share": sum(x["kept"] for x in items) / composed if composed else 0.0,
        "questions": float(len(items)),
    }
    descriptions = {
        "rouge_l": "ROUGE-L F1 of the article's statements (joined) against the best ideal "
        "answer; abstentions score 0 (lexical proxy: rewards shared wording, not correctness)",
        "statement_recall": "share of the ideal answer's sentences matched by some article "
        f"statement ({similarity_name(embedder)}); best ideal answer; abstentions score 0 "
        "(proxy: similarity is not entailment)",
        "rouge_l_answered": "ROUGE-L over questions evident answered",
        "statement_recall_answered": "statement recall over questions evident answered",
        "cited_pmids_gold_share": "share of cited PubMed documents that are the question's "
        "gold documents (micro-averaged)",
        "abstention_rate": "share of questions evident declined to answer",
        "statements_per_answer": "statements in an answered article",
        "verifier_kept_share": "share of composed statements the verifier kept",
        "questions": "summary questions asked",
    }
    notes = [
        "The library contains every question's gold snippets (BioASQ documents are built "
        "from them), so retrieval is easier than in the open BioASQ task; the numbers "
        "measure selection and assembly.",
        "evident is extractive: its statements are quoted sentences, while ideal answers "
        "are written summaries, so ROUGE-L is bounded well below 1 even for a good article.",
    ]
    if failures:
        notes.append(f"{len(failures)} questions failed: {'; '.join(failures[:3])}")
    return SuiteOutput(
        metrics=metrics,
        descriptions=descriptions,
        split="BioASQ Task B golden sets 7B–11B, all 543 summary questions (no tuning)",
        tuning="none (no setting was tuned on these questions)",
        distributions={
            "ROUGE-L per question": [x["rouge_l"] for x in items],
            "statement recall per question": [x["statement_recall"] for x in items],
        },
        latencies=latencies,
        items=items,
        notes=notes,
    )


SUITE = Suite(
    name="bioasq-summary",
    title="BioASQ summary questions: articles against expert ideal answers",
    summary="ROUGE-L, statement recall and gold-citation share on 543 summary questions",
    run=run,
)
