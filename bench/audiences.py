"""Audience benchmark: the seed questions rendered for each reader on the demo library.

For every seed question (the first line of each page in ../shared/seeds) and every
audience it records the Flesch–Kincaid grade of the words evident adds for that reader
(headings, framing lines, lead-ins, glossary explanations, pointers) and of the whole
rendered text, how many statements are shown and how many were left out for the reader,
and whether every citation of the physician rendering is still shown.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from statistics import mean
from typing import Any

from bench.data import REPO
from evident import __version__
from evident.compose.audience import DOSE
from evident.models import Article, Audience

AREA = "audiences"
TITLE = "Audiences"
SEEDS = REPO.parent / "shared" / "seeds"

Log = Callable[[str], None]


def seed_questions() -> list[str]:
    """The question line of each seed page, in file order ([] when the seeds are absent)."""
    if not SEEDS.is_dir():
        return []
    pages = sorted(SEEDS.glob("*.txt"))
    return [p.read_text("utf-8").strip().splitlines()[0].strip() for p in pages]


def _cited(article: Article) -> set[tuple[str, int, int]]:
    return {(c.chunk_id, c.start, c.end) for s in article.statements() for c in s.citations}


def run(limit: int | None = None, log: Log = print) -> dict[str, Any]:
    questions = seed_questions()[:limit] if limit else seed_questions()
    meta = {"evident_version": __version__, "run_at": datetime.now(UTC).isoformat()}
    if not questions:
        log(f"audiences: no seed pages at {SEEDS}; skipped")
        return {**meta, "skipped": f"no seed pages at {SEEDS}", "rows": [], "by_audience": {}}
    from bench.library import open_demo_library

    app = open_demo_library(AREA, log)
    rows: list[dict[str, Any]] = []
    for question in questions:
        log(f"audiences: {question[:70]}")
        physician_cited: set[tuple[str, int, int]] = set()
        for audience in Audience:
            article = app.ask(question, audience)
            if audience is Audience.PHYSICIAN:
                physician_cited = _cited(article)
            shown = article.statements()
            rows.append(
                {
                    "question": question,
                    "audience": audience.value,
                    "abstained": article.abstained,
                    "grade_generated": article.metrics.get("reading_grade_generated"),
                    "grade_all": article.metrics.get("reading_grade_all"),
                    "statements_shown": sum(not s.generated for s in shown),
                    "statements_omitted": len(article.omitted),
                    "doses_shown": sum(bool(DOSE.search(s.text)) for s in shown),
                    "citations_kept": _cited(article) == physician_cited,
                }
            )
    app.store.close()
    by_audience: dict[str, dict[str, Any]] = {}
    for audience in Audience:
        mine = [r for r in rows if r["audience"] == audience.value and not r["abstained"]]
        if not mine:
            continue
        by_audience[audience.value] = {
            "answered": len(mine),
            "grade_generated_mean": round(mean(r["grade_generated"] for r in mine), 1),
            "grade_generated_max": max(r["grade_generated"] for r in mine),
            "grade_all_mean": round(mean(r["grade_all"] for r in mine), 1),
            "statements_shown": sum(r["statements_shown"] for r in mine),
            "statements_omitted": sum(r["statements_omitted"] for r in mine),
            "doses_shown": sum(r["doses_shown"] for r in mine),
            "citations_kept": sum(r["citations_kept"] for r in mine),
        }
    return {
        **meta,
        "library_documents": 85,
        "questions": len(questions),
        "rows": rows,
        "by_audience": by_audience,
    }


def markdown(results: dict[str, Any]) -> str:
    if results.get("skipped"):
        return f"Skipped: {results['skipped']}."
    lines = [
        f"The {results['questions']} seed questions on the demo library (85 documents), "
        "rendered for each reader. *Generated* is the Flesch–Kincaid grade of the words "
        "evident adds (headings, framing lines, lead-ins, glossary explanations, pointers; "
        "physicians get none); *whole* includes the quoted evidence, which is never "
        "simplified. Target for patients: generated text at grade 8 or below.",
        "",
        "| audience | answered | grade, generated (mean / max) | grade, whole (mean) | "
        "statements shown | left out for the reader | doses shown | all citations kept |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for audience, r in results["by_audience"].items():
        lines.append(
            f"| {audience} | {r['answered']} | {r['grade_generated_mean']} / "
            f"{r['grade_generated_max']} | {r['grade_all_mean']} | {r['statements_shown']} | "
            f"{r['statements_omitted']} | {r['doses_shown']} | "
            f"{r['citations_kept']} of {r['answered']} |"
        )
    lines += ["", f"evident {results['evident_version']}, run {results['run_at'][:16]} UTC."]
    return "\n".join(lines)


def summary(results: dict[str, Any]) -> str:
    if results.get("skipped"):
        return f"skipped: {results['skipped']}"
    return "\n".join(
        f"{a}: generated grade {r['grade_generated_mean']} (max {r['grade_generated_max']}), "
        f"whole {r['grade_all_mean']}, omitted {r['statements_omitted']}, "
        f"citations kept {r['citations_kept']}/{r['answered']}"
        for a, r in results["by_audience"].items()
    )
