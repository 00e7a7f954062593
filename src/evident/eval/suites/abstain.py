"""Abstention: questions whose evidence is absent must abstain; the others must not.

Two parts.
1. Staged library. A sample of BioASQ summary questions is asked twice: on the full
   library (evidence present) and on a copy of it from which every document carrying one
   of the sampled questions' gold PMIDs was deleted with the store's remove_document
   (evidence removed). Evidence on the same topic from other documents (other BioASQ
   questions' snippets, PubMedQA, MedQuAD, guidelines) stays, so some "removed"
   questions can still be answered honestly; the rate is an upper bound on the error.
2. The demo library (85 foot-and-ankle documents): its seed questions must be answered,
   and questions from outside its scope (acute otitis media …) must abstain.
"""

from __future__ import annotations

import random
import shutil
from typing import Any

from evident.app import App, build_app
from evident.errors import EvidentError
from evident.eval.data import REPO, bioasq_questions
from evident.eval.runner import EvalContext, Progress, Suite, SuiteOutput
from evident.eval.suites.common import timed_ask

DEFAULT_SAMPLE = 100
SEED = 20190601

DEMO_IN_SCOPE = (
    "What is the treatment for soft tissue calcifications near the metatarsal head?",
    "Management of non-specific calcifications in the soft tissue of the inferior right calf",
    "Initial management of small heterotopic ossification in the Achilles tendon",
    "How to differentiate and manage osteomyelitis versus heterotopic ossification "
    "in a patient with a transmetatarsal amputation?",
    "What is the treatment for insertional Achilles tendinopathy?",
    "How is diabetic foot osteomyelitis diagnosed?",
)
DEMO_OUT_OF_SCOPE = (
    "What is the first-line treatment for acute otitis media in children?",
    "What is the first-line treatment for community-acquired pneumonia in adults?",
    "How should migraine be prevented in adults?",
    "What is the management of atrial fibrillation with rapid ventricular response?",
    "How is iron deficiency anaemia in pregnancy treated?",
    "What are the treatment options for acne vulgaris?",
)


def _removed_copy(ctx: EvalContext, pmids: set[str]) -> tuple[App, int]:
    """A copy of the library without the documents carrying these PMIDs."""
    directory = ctx.copy_library("abstain-removed")
    app = build_app(ctx.settings.model_copy(update={"library": directory}))
    doomed = [d for d, meta in app.store.document_metas().items() if meta.pmid in pmids]
    for document_id in doomed:
        app.store.remove_document(document_id)
    app.refresh_index(embed=False)
    return app, len(doomed)


def _demo_app(ctx: EvalContext) -> App:
    directory = ctx.work_dir / f"demo-library-{ctx.settings.index.embedder}"
    app = build_app(ctx.settings.model_copy(update={"library": directory}))
    if app.store.count_documents() == 0:
        report = app.ingest([REPO / "library"])
        if report.failed:
            raise EvidentError(f"the demo library failed to ingest: {report.failed[0].reason}")
    app.index() if app.embedder is None else app.refresh_index()
    return app


def run(ctx: EvalContext, limit: int | None, progress: Progress) -> SuiteOutput:
    questions = bioasq_questions("summary")
    sample = random.Random(SEED).sample(questions, min(limit or DEFAULT_SAMPLE, len(questions)))
    in_scope = DEMO_IN_SCOPE if limit is None else DEMO_IN_SCOPE[: max(1, limit // 2)]
    out_scope = DEMO_OUT_OF_SCOPE if limit is None else DEMO_OUT_OF_SCOPE[: max(1, limit // 2)]
    total = 2 * len(sample) + len(in_scope) + len(out_scope)
    done = 0
    items: list[dict[str, Any]] = []
    latencies: list[float] = []

    def ask(app: App, group: str, qid: str, text: str, should_abstain: bool) -> None:
        nonlocal done
        try:
            article, seconds = timed_ask(app, text)
            abstained, reason = article.abstained, ""
            latencies.append(seconds)
        except EvidentError as exc:
            abstained, reason = True, f"error: {exc}"
        items.append(
            {
                "group": group,
                "id": qid,
                "should_abstain": should_abstain,
                "abstained": abstained,
                "error": reason,
            }
        )
        done += 1
        progress(done, total)

    full = ctx.app()
    for q in sample:
        ask(full, "bioasq-present", q.question_id, q.body, False)
    removed_app, removed_docs = _removed_copy(ctx, {p for q in sample for p in q.gold_pmids})
    try:
        for q in sample:
            ask(removed_app, "bioasq-removed", q.question_id, q.body, True)
    finally:
        removed_app.store.close()
        # The copy is as large as the library; it is rebuilt on every run.
        shutil.rmtree(removed_app.settings.library, ignore_errors=True)
    demo = _demo_app(ctx)
    try:
        for n, text in enumerate(in_scope):
            ask(demo, "demo-in-scope", f"in-{n}", text, False)
        for n, text in enumerate(out_scope):
            ask(demo, "demo-out-of-scope", f"out-{n}", text, True)
    finally:
        demo.store.close()

    def rate(group: str) -> float:
        rows = [x for x in items if x["group"] == group]
        return sum(x["abstained"] for x in rows) / len(rows) if rows else float("nan")

    must = [x for x in items if x["should_abstain"]]
    must_not = [x for x in items if not x["should_abstain"]]
    metrics = {
        "abstained_when_evidence_removed": rate("bioasq-removed"),
        "answered_when_evidence_present": 1 - rate("bioasq-present"),
        "demo_out_of_scope_abstained": rate("demo-out-of-scope"),
        "demo_in_scope_answered": 1 - rate("demo-in-scope"),
        "abstained_when_should": sum(x["abstained"] for x in must) / len(must),
        "answered_when_should": 1 - sum(x["abstained"] for x in must_not) / len(must_not),
        "bioasq_questions": float(len(sample)),
        "documents_removed": float(removed_docs),
    }
    descriptions = {
        "abstained_when_evidence_removed": "BioASQ questions asked of the library copy without "
        "their gold documents that abstained",
        "answered_when_evidence_present": "the same questions on the full library that were "
        "answered",
        "demo_out_of_scope_abstained": "out-of-scope questions to the demo library that abstained",
        "demo_in_scope_answered": "in-scope demo questions that were answered",
        "abstained_when_should": "all must-abstain questions that abstained",
        "answered_when_should": "all must-answer questions that were answered",
        "bioasq_questions": "BioASQ summary questions sampled (seeded)",
        "documents_removed": "documents deleted from the library copy (gold PMIDs of the sample)",
    }
    return SuiteOutput(
        metrics=metrics,
        descriptions=descriptions,
        split=f"{len(sample)} BioASQ summary questions (seeded sample) and "
        f"{len(in_scope) + len(out_scope)} demo-library questions",
        tuning="none",
        distributions={},
        latencies=latencies,
        items=items,
        notes=[
            "Evidence is removed from a COPY of the library with the store's "
            "remove_document, then the index is rebuilt; nothing is excluded at retrieve "
            "time, so the run is the same code path a user's library takes.",
            "Only the gold documents are removed. Other documents on the same topic remain, "
            "so an answer on the reduced library is not necessarily wrong; read the first "
            "rate as 'how often evident notices its best evidence is gone'.",
        ],
        extra={"sample_ids": [q.question_id for q in sample]},
    )


SUITE = Suite(
    name="abstain",
    title="Abstention with evidence removed or out of scope",
    summary="Abstains when the evidence is gone, answers when it is there",
    run=run,
)
