"""Readers for the staged public evaluation sets in ../shared/data (never copied here).

Each loader returns plain records. Gold labels are read here for scoring only; nothing
in this module puts them into a library.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from evident.errors import NotFound

REPO = Path(__file__).resolve().parents[3]
_PMID = re.compile(r"(\d+)/?$")
_MARKER = re.compile(r"\s*\[\d+\]")
_EVIDENCE_HEAD = re.compile(r"^\s*\[\d+\]\s*(?:https?://\S*)?\s*")


def shared_data_dir() -> Path:
    """Return $EVIDENT_SHARED_DATA, or ../shared/data beside the repository."""
    return Path(os.environ.get("EVIDENT_SHARED_DATA", REPO.parent / "shared" / "data"))


def require(relative: str) -> Path:
    """Return a path inside the shared data folder, or raise NotFound saying what to do."""
    path = shared_data_dir() / relative
    if not path.exists():
        raise NotFound(
            f"evaluation data not found: {path} is missing. Stage the public data sets in "
            "../shared/data (see its SOURCES.md) or set EVIDENT_SHARED_DATA to that folder"
        )
    return path


# -- BioASQ -----------------------------------------------------------------------------
@dataclass(frozen=True)
class BioasqQuestion:
    """A BioASQ golden question. year is the task ("7B" … "11B")."""

    question_id: str
    year: str
    body: str
    ideal: tuple[str, ...]
    gold_pmids: frozenset[str]


def bioasq_questions(qtype: str = "summary") -> list[BioasqQuestion]:
    """Return the BioASQ golden questions of one type, in task and batch order."""
    root = require("bioasq-golden-7b-11b")
    files = sorted(
        root.glob("Task*BGoldenEnriched/*_golden.json"),
        key=lambda p: (int(p.name.split("B")[0]), p.name),
    )
    out = []
    for path in files:
        year = path.name.split("_")[0][:-1]
        for q in json.loads(path.read_text())["questions"]:
            if q.get("type") != qtype:
                continue
            ideal = q.get("ideal_answer") or []
            ideal = [ideal] if isinstance(ideal, str) else ideal
            gold = frozenset(m.group(1) for d in q.get("documents", []) if (m := _PMID.search(d)))
            out.append(
                BioasqQuestion(
                    q["id"], year, " ".join(q["body"].split()), tuple(map(str, ideal)), gold
                )
            )
    return out


# -- MedLFQA ----------------------------------------------------------------------------
@dataclass(frozen=True)
class LongFormQuestion:
    """A MedLFQA question with its must-have and nice-to-have statements."""

    number: int
    question: str
    must_have: tuple[str, ...]
    nice_to_have: tuple[str, ...]


def medlfqa_questions() -> list[LongFormQuestion]:
    path = require("medlfqa/medication_qa_test_MedLFQA.jsonl")
    out = []
    for i, line in enumerate(path.read_text().splitlines()):
        if line.strip():
            r = json.loads(line)
            out.append(
                LongFormQuestion(
                    i,
                    " ".join(str(r["Question"]).split()),
                    tuple(r.get("Must_have") or ()),
                    tuple(r.get("Nice_to_have") or ()),
                )
            )
    return out


# -- MEDIQA 2019 task 3 -----------------------------------------------------------------
MEDIQA_FILES = {
    "train": "mediqa2019/MEDIQA_Task3_QA/MEDIQA2019-Task3-QA-TrainingSet2-Alexa.xml",
    "test": "mediqa2019/MEDIQA_Task3_QA/MEDIQA2019-Task3-QA-TestSet-wLabels.xml",
}


@dataclass(frozen=True)
class CandidateAnswer:
    """One judged answer. reference_score: 4 excellent … 1 incorrect."""

    answer_id: str
    text: str
    system_rank: int
    reference_rank: int
    reference_score: int


@dataclass(frozen=True)
class RankingQuestion:
    question_id: str
    text: str
    answers: tuple[CandidateAnswer, ...]


def mediqa_questions(split: str) -> list[RankingQuestion]:
    """Return MEDIQA 2019 task 3 questions: split "train" (Alexa, tuning) or "test"."""
    tree = etree.parse(str(require(MEDIQA_FILES[split])))
    out = []
    for q in tree.getroot().iter("Question"):
        answers = []
        for a in q.iter("Answer"):
            answers.append(
                CandidateAnswer(
                    a.get("AID", ""),
                    " ".join((a.findtext("AnswerText") or "").split()),
                    int(a.get("SystemRank", "0")),
                    int(a.get("ReferenceRank", "0")),
                    int(a.get("ReferenceScore", "0")),
                )
            )
        text = " ".join((q.findtext("QuestionText") or "").split())
        out.append(RankingQuestion(q.get("QID", ""), text, tuple(answers)))
    return out


# -- ExpertQA ---------------------------------------------------------------------------
EXPERTQA_SPLITS = {"val": ("domain_val", "rand_val"), "test": ("domain_test", "rand_test")}
MEDICAL_FIELD = "Healthcare / Medicine"


@dataclass(frozen=True)
class ClaimPair:
    """A claim, the evidence its answer cited for it, and the expert's support label."""

    question_index: int
    system: str
    claim: str
    evidence: tuple[str, ...]
    label: str


def _expertqa_rows(split: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name in EXPERTQA_SPLITS[split]:
        with gzip.open(require(f"expertqa/lfqa/{name}.jsonl.gz"), "rt", encoding="utf-8") as f:
            rows += [json.loads(line) for line in f if line.strip()]
    return [r for r in rows if r.get("metadata", {}).get("field") == MEDICAL_FIELD]


def clean_claim(text: str) -> str:
    """Drop citation markers ("[2] [3]") from a claim."""
    return " ".join(_MARKER.sub("", text).split())


def clean_evidence(text: str) -> str:
    """Drop the "[n] url" that starts each evidence text (some hold nothing else)."""
    return _EVIDENCE_HEAD.sub("", text, count=1).strip()


def expertqa_pairs(split: str) -> tuple[list[ClaimPair], dict[str, int]]:
    """Return the medical claim-evidence pairs of one split, and counts of what was left out.

    The domain_* and rand_* files are two splits of one pool: rows are deduplicated on the
    question (first row kept), and test questions that also occur in val are dropped
    from test, so the threshold chosen on val never sees a test question.
    """
    rows = _expertqa_rows(split)
    skip: set[str] = set()
    if split == "test":
        skip = {r["question"] for r in _expertqa_rows("val")}
    seen: set[str] = set()
    counts = {
        "rows": len(rows),
        "questions": 0,
        "dropped_overlap_with_val": 0,
        "no_evidence": 0,
        "unlabelled": 0,
    }
    pairs = []
    for row in rows:
        question = row["question"]
        if question in seen:
            continue
        seen.add(question)
        if question in skip:
            counts["dropped_overlap_with_val"] += 1
            continue
        counts["questions"] += 1
        for system, answer in sorted((row.get("answers") or {}).items()):
            for claim in answer.get("claims") or []:
                label = claim.get("support")
                evidence = tuple(
                    e for e in (clean_evidence(str(x)) for x in claim.get("evidence") or []) if e
                )
                if label not in ("Complete", "Partial", "Incomplete", "Missing"):
                    counts["unlabelled"] += 1
                    continue
                if not evidence:
                    counts["no_evidence"] += 1
                    continue
                text = clean_claim(str(claim.get("claim_string") or ""))
                if text:
                    pairs.append(ClaimPair(counts["questions"], system, text, evidence, label))
    return pairs, counts


# -- PubMedQA ---------------------------------------------------------------------------
@dataclass(frozen=True)
class YesNoQuestion:
    """A PubMedQA expert question; label is final_decision (scoring only, never indexed)."""

    pmid: str
    question: str
    label: str


def pubmedqa_questions() -> tuple[list[YesNoQuestion], list[YesNoQuestion]]:
    """Return (development, test): the 500 non-test and the 500 official test questions."""
    data = json.loads(require("pubmedqa/ori_pqal.json").read_text())
    test_ids = json.loads(require("pubmedqa/test_ground_truth.json").read_text())
    dev: list[YesNoQuestion] = []
    test: list[YesNoQuestion] = []
    for pmid, r in data.items():
        q = YesNoQuestion(pmid, " ".join(r["QUESTION"].split()), r["final_decision"])
        (test if pmid in test_ids else dev).append(q)
    return dev, test
