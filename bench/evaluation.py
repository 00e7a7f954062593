"""The `eval` area: every evident eval suite on the staged library (see docs/evaluation.md).

Full runs write docs/evaluation/<suite>.{json,md,png} and refresh docs/evaluation.md;
the bench record (bench/results/eval.json) keeps each suite's headline metrics.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.library import open_library
from evident.config import Settings
from evident.eval import CATALOG
from evident.eval.report import DOC, fmt, update_doc, write_result
from evident.eval.runner import EvalContext, run_suite
from evident.eval.suites import SUITES

AREA = "eval"
TITLE = "Evaluation (answer quality, citation support, abstention)"


def run(limit: int | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    settings = Settings()
    record: dict[str, Any] = {}

    def open_app():  # type: ignore[no-untyped-def]
        opened = open_library(settings.index, log=log)
        record.update(
            source="bench/library.py (all staged data)",
            directory=str(opened.directory),
            key=opened.build.get("key"),
        )
        return opened.app

    context = EvalContext(settings, open_app=open_app, describe_library=lambda: record)
    out_dir = DOC.parent / "evaluation"
    results = []
    for name in CATALOG:
        log(f"eval: {name} …")
        result = run_suite(SUITES[name], context, limit)
        if limit is None:
            write_result(result, out_dir)
        results.append(result)
    if limit is None:
        update_doc(results, out_dir)
    return {
        "suites": {
            r["suite"]: {"metrics": r["metrics"], "latency": r["latency"], "run": r["run"]}
            for r in results
        }
    }


def summary(results: dict[str, Any]) -> str:
    lines = []
    for name, r in results["suites"].items():
        head = list(r["metrics"].items())[:4]
        lines.append(f"{name}: " + ", ".join(f"{k} {fmt(v)}" for k, v in head))
    return "\n".join(lines)


def markdown(results: dict[str, Any]) -> str:
    return (
        "Headline numbers; the full tables, what each measure can and cannot tell, and the "
        "development/test split of each suite are in [evaluation.md](evaluation.md).\n\n"
        + "\n".join(f"- {line}" for line in summary(results).splitlines())
    )
