"""Result files, the generated sections of docs/evaluation.md, and compare (no data needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evident.eval.report import compare, update_doc, write_result


def result(value: float, threshold: float = 0.6) -> dict[str, Any]:
    return {
        "schema": "evident.eval/1",
        "suite": "demo-suite",
        "title": "Demo suite",
        "summary": "",
        "split": "test split",
        "tuning": "dev split",
        "limit": None,
        "metrics": {"f1": value, "questions": 10.0},
        "descriptions": {"f1": "F1 against the label", "questions": "questions"},
        "latency": {"items": 3, "p50_s": 0.1, "p95_s": 0.2, "mean_s": 0.1},
        "notes": ["a proxy: says X, cannot say Y"],
        "extra": {},
        "run": {
            "package_version": "0.1.0",
            "commit": "abc",
            "started_at": "2026-01-01T00:00:00+00:00",
            "seconds": 1.0,
            "python": "3.11",
            "shared_data": "/data",
            "library": {},
            "settings": {"index": {"embedder": "none"}, "verify": {"support_threshold": threshold}},
        },
        "distributions": {"score": [0.1, 0.5, 0.9]},
        "latencies": [0.1, 0.1, 0.2],
        "items": [],
    }


def test_write_result_and_refresh_the_doc_section_in_place(tmp_path: Path) -> None:
    paths = write_result(result(0.5), tmp_path / "out")
    assert paths["png"].stat().st_size > 0
    assert "| `f1` | 0.500 | F1 against the label |" in paths["markdown"].read_text()
    doc = tmp_path / "evaluation.md"
    doc.write_text("# Evaluation\n\nHand-written text.\n")
    update_doc([result(0.5)], tmp_path / "out", doc)
    update_doc([result(0.75)], tmp_path / "out", doc)
    text = doc.read_text()
    assert "Hand-written text." in text
    assert text.count("<!-- eval:demo-suite:start -->") == 1
    assert "0.750" in text and "0.500" not in text


def test_compare_reports_metric_changes_and_setting_differences() -> None:
    diff = compare(result(0.5), result(0.75, threshold=0.43))
    assert ("f1", 0.5, 0.75, 0.25) in diff["metrics"]
    assert [row[0] for row in diff["provenance"]] == ["settings.verify.support_threshold"]
