"""Consumer questions: does evident answer questions as people ask them?

On the retrieval benchmark's library (which holds MedQuAD's answers):

- MedQuAD questions from the documents the relevance model was never trained on (its
  held-out 10 %), asked as written and as a person might type them (lower case, no
  question mark, sometimes a typo). Each should be answered, with its own MedQuAD
  document cited first in the bottom line.
- MedicationQA consumer questions about medicines. The library holds no MedlinePlus drug
  leaflets, so most should abstain; those whose drug the library does mention are
  reported apart, and should be answered more often.
"""

from __future__ import annotations

import csv
import os
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from lxml import etree

from bench.data import require
from bench.library import open_library
from bench.metrics import percentile
from evident import __version__
from evident.app import App
from evident.config import IndexSettings
from evident.train.relevance import everyday, medquad_documents, medquad_heldout

AREA = "consumer"
TITLE = "Consumer questions"
MEDQUAD_SAMPLE = 60
MEDICATIONQA_SAMPLE = 50
TARGET_ANSWERED, TARGET_FIRST = 0.90, 0.75

Log = Callable[[str], None]


def medquad_heldout_questions(n: int) -> list[tuple[str, str]]:
    """(question, document url) for one question of each of n held-out MedQuAD documents."""
    root = require("medquad").parent
    rng = random.Random(5)
    out = []
    for key, _focus, qa in medquad_documents(root):
        if not medquad_heldout(key):
            continue
        url = etree.parse(str(root / "medquad" / f"{key}.xml")).getroot().get("url") or ""
        question, _, _ = rng.choice(qa)
        out.append((question, url))
    rng.shuffle(out)
    return out[:n]


def medicationqa_questions(n: int) -> list[tuple[str, str]]:
    """(question, drug) pairs from MedicationQA."""
    path = require("medicationqa/MedInfo2019-QA-Medications.csv")
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        rows = [(r["Question"].strip(), r["Focus (Drug)"].strip()) for r in csv.DictReader(handle)]
    rows = [r for r in rows if r[0]]
    return random.Random(6).sample(rows, min(n, len(rows)))


def _ask(app: App, question: str) -> tuple[Any, float]:
    started = time.perf_counter()
    article = app.ask(question)
    return article, time.perf_counter() - started


def run(limit: int | None = None, log: Log = print) -> dict[str, Any]:
    """Run the consumer-question benchmark (see bench/results/consumer.json)."""
    # The shipped settings, reranking on (the retrieval benchmark's settings turn it off).
    library = open_library(IndexSettings.model_validate({}), embed=False, log=log)
    app = library.app
    metas = app.store.document_metas()
    rng = random.Random(7)
    seconds: list[float] = []
    medquad: dict[str, Any] = {}
    questions = medquad_heldout_questions(limit or MEDQUAD_SAMPLE)
    for style in ("as written", "as typed"):
        answered = first = 0
        for i, (question, url) in enumerate(questions, start=1):
            asked = question if style == "as written" else everyday(question, rng)
            article, took = _ask(app, asked)
            seconds.append(took)
            if not article.abstained:
                answered += 1
                lead = article.bottom_line[0].citations[0].document_id
                first += bool(url) and metas[lead].url == url
            if i % 25 == 0:
                log(f"bench: consumer: MedQuAD {style} {i}/{len(questions)}")
        n = max(len(questions), 1)
        medquad[style] = {
            "questions": len(questions),
            "answered": round(answered / n, 4),
            "own_document_cited_first": round(first / n, 4),
        }
    medication: dict[str, Any] = {"with_drug_text": [0, 0], "without_drug_text": [0, 0]}
    for question, drug in medicationqa_questions(limit or MEDICATIONQA_SAMPLE):
        hits = app.search(drug, k=5, methods=("bm25",)) if drug else []
        has_text = any(drug.lower() in h.chunk.text.lower() for h in hits)
        article, took = _ask(app, question)
        seconds.append(took)
        row = medication["with_drug_text" if has_text else "without_drug_text"]
        row[0] += 1
        row[1] += int(article.abstained)
    medicationqa = {
        key: {"questions": n, "abstained": round(a / n, 4) if n else None}
        for key, (n, a) in medication.items()
    }
    ms = [s * 1000 for s in seconds]
    return {
        "area": AREA,
        "meta": {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "package_version": __version__,
            "passages": app.index().manifest.passages,
            "embedded": app.index().manifest.embedded,
            "cores": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2),
        },
        "medquad_heldout": medquad,
        "medicationqa": medicationqa,
        "ask_latency_ms": {"p50": round(percentile(ms, 50)), "p95": round(percentile(ms, 95))},
    }


def markdown(results: dict[str, Any]) -> str:
    meta, mq, med = results["meta"], results["medquad_heldout"], results["medicationqa"]
    written = mq["as written"]
    met = written["answered"] >= TARGET_ANSWERED and (
        written["own_document_cited_first"] >= TARGET_FIRST
    )
    lines = [
        f"Run {meta['date'][:10]}, evident {meta['package_version']}, on the retrieval "
        f"library ({meta['passages']:,} passages, {meta['embedded']:,} with vectors), "
        f"{meta['cores']} cores, shared machine (load {meta['load_average_1m']}).",
        "",
        "MedQuAD questions from documents the relevance model never saw in training (one "
        "question per held-out document), asked as written and as typed by a person (lower "
        "case, no question mark, sometimes a typo):",
        "",
        f"Target: answered ≥ {TARGET_ANSWERED:.0%} with the question's own document cited "
        f"first ≥ {TARGET_FIRST:.0%}. Measured as written: **{written['answered']:.1%}** "
        f"answered, **{written['own_document_cited_first']:.1%}** own document first: "
        f"**{'met' if met else 'not met'}**.",
        "",
        "| Asked | n | Answered | Own document cited first |",
        "|---|---:|---:|---:|",
    ]
    for style, row in mq.items():
        lines.append(
            f"| {style} | {row['questions']} | {row['answered']:.1%} | "
            f"{row['own_document_cited_first']:.1%} |"
        )
    lines += [
        "",
        "MedicationQA (consumer questions about medicines; the library has no drug "
        "leaflets, so abstaining is right where it holds nothing on the drug):",
        "",
        "| Drug named in the library | n | Abstained |",
        "|---|---:|---:|",
    ]
    for key, label in (("with_drug_text", "yes"), ("without_drug_text", "no")):
        row = med[key]
        rate = "n/a" if row["abstained"] is None else f"{row['abstained']:.1%}"
        lines.append(f"| {label} | {row['questions']} | {rate} |")
    lat = results["ask_latency_ms"]
    lines += ["", f"Ask latency on this library: p50 {lat['p50']} ms, p95 {lat['p95']} ms."]
    return "\n".join(lines)


def summary(results: dict[str, Any]) -> str:
    mq = results["medquad_heldout"]
    return "\n".join(
        [
            *(
                f"MedQuAD held out {k}: answered {v['answered']:.1%}, own doc first "
                f"{v['own_document_cited_first']:.1%}"
                for k, v in mq.items()
            ),
            *(
                f"MedicationQA {k}: n={v['questions']} abstained {v['abstained']}"
                for k, v in results["medicationqa"].items()
            ),
        ]
    )
