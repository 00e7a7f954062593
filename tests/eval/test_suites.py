"""Every eval suite runs on a small --limit against the staged data, with sane numbers.

Libraries here are BM25-only and built from one or two staged files, so the whole module
stays fast; the full runs (embedded library of all staged data) are `evident eval all`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evident.app import App, build_app
from evident.config import load_settings
from evident.eval.data import (
    bioasq_questions,
    expertqa_pairs,
    mediqa_questions,
    medlfqa_questions,
    pubmedqa_questions,
    shared_data_dir,
)
from evident.eval.runner import EvalContext, run_suite
from evident.eval.suites import SUITES

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def small_library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """BM25-only: the PubMedQA abstracts and the first BioASQ batch (7B1)."""
    root = shared_data_dir()
    if not root.is_dir():
        pytest.skip(f"staged public data not found at {root} (set EVIDENT_SHARED_DATA)")
    settings = load_settings(library=tmp_path_factory.mktemp("eval") / "library")
    settings.index.embedder = "none"
    app = build_app(settings)
    report = app.ingest(
        [
            root / "pubmedqa" / "ori_pqal.json",
            root / "bioasq-golden-7b-11b" / "Task7BGoldenEnriched" / "7B1_golden.json",
        ]
    )
    assert not report.failed
    app.refresh_index(embed=False)
    yield app
    app.store.close()


def _context(app: App, tmp_path: Path) -> EvalContext:
    return EvalContext(app.settings, open_app=lambda: app, work_dir=tmp_path / "work")


def _run(name: str, app: App, tmp_path: Path, limit: int) -> dict[str, Any]:
    result = run_suite(SUITES[name], _context(app, tmp_path), limit)
    json.dumps(result)  # the record is plain JSON
    assert result["run"]["package_version"] and result["run"]["settings"]["verify"]
    return result


def _in_unit_range(metrics: dict[str, float], *names: str) -> None:
    for name in names:
        assert 0.0 <= metrics[name] <= 1.0, (name, metrics[name])


def test_loaders_read_the_staged_sets(shared_data: Path) -> None:
    assert len(bioasq_questions("summary")) == 543
    dev, test = pubmedqa_questions()
    assert len(dev) == 500 and len(test) == 500
    assert not {q.pmid for q in dev} & {q.pmid for q in test}
    assert len(mediqa_questions("test")) == 150
    assert sum(len(q.answers) for q in mediqa_questions("test")) == 1107
    assert len(medlfqa_questions()) == 666
    val, _ = expertqa_pairs("val")
    test_pairs, counts = expertqa_pairs("test")
    assert {p.label for p in val} <= {"Complete", "Partial", "Incomplete", "Missing"}
    assert counts["dropped_overlap_with_val"] > 0  # no val question is reported on
    assert not any(p.claim.endswith("]") for p in test_pairs)


def test_expertqa_agreement(shared_data: Path, bm25_app: App, tmp_path: Path) -> None:
    result = _run("expertqa", bm25_app, tmp_path, 25)
    m = result["metrics"]
    _in_unit_range(m, "test_precision", "test_recall", "test_f1", "test_auc", "val_f1")
    assert m["test_pairs"] == 25 and 0.0 <= m["threshold_chosen_on_val"] <= 1.0
    assert "Partial" in result["notes"][0]


def test_mediqa_ranking(shared_data: Path, bm25_app: App, tmp_path: Path) -> None:
    m = _run("mediqa2019", bm25_app, tmp_path, 8)["metrics"]
    _in_unit_range(m, "accuracy", "mrr", "baseline_chiqa_mrr")
    assert -1.0 <= m["spearman"] <= 1.0
    assert m["mrr"] >= 0.3  # the first relevant answer is rarely far down


def test_pubmedqa_answers_from_the_retrieved_abstract(
    shared_data: Path, small_library: App, tmp_path: Path
) -> None:
    m = _run("pubmedqa", small_library, tmp_path, 30)["metrics"]
    _in_unit_range(m, "accuracy", "macro_f1", "dev_fit_accuracy")
    assert m["own_abstract_retrieved"] >= 0.8  # PubMedQA questions are their articles' titles


def test_pubmedqa_conclusions_are_not_in_the_library(shared_data: Path, small_library: App) -> None:
    data = json.loads((shared_data / "pubmedqa" / "ori_pqal.json").read_text())
    docs = {m.pmid: d for d, m in small_library.store.document_metas().items() if m.pmid}
    for pmid, record in list(data.items())[:20]:
        text = " ".join(c.text for c in small_library.store.chunks_for(docs[pmid]))
        assert record["LONG_ANSWER"][:80] not in text
        meta = small_library.store.document_metas([docs[pmid]])[docs[pmid]]
        assert "final_decision" not in json.dumps(meta.extra)
        assert record["final_decision"] not in (meta.extra.get("label"), meta.extra.get("answer"))


def test_bioasq_summary_articles(shared_data: Path, small_library: App, tmp_path: Path) -> None:
    result = _run("bioasq-summary", small_library, tmp_path, 4)
    m = result["metrics"]
    _in_unit_range(m, "rouge_l", "statement_recall", "cited_pmids_gold_share", "abstention_rate")
    assert m["questions"] == 4 and result["latency"]["items"] == 4
    assert all("body" not in item and "ideal" not in item for item in result["items"])


def test_medlfqa_proxies(shared_data: Path, small_library: App, tmp_path: Path) -> None:
    m = _run("medlfqa", small_library, tmp_path, 3)["metrics"]
    _in_unit_range(m, "must_have_recall", "abstention_rate")


def test_abstain_on_a_library_copy(shared_data: Path, small_library: App, tmp_path: Path) -> None:
    before = small_library.store.count_documents()
    m = _run("abstain", small_library, tmp_path, 4)["metrics"]
    _in_unit_range(
        m,
        "abstained_when_evidence_removed",
        "answered_when_evidence_present",
        "demo_out_of_scope_abstained",
        "demo_in_scope_answered",
    )
    assert m["demo_out_of_scope_abstained"] == 1.0  # acute otitis media is not in the demo
    assert small_library.store.count_documents() == before  # only the copy lost documents
