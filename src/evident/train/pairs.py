"""Training and test pairs for the claim-support model, read from ../shared/data.

A pair is (statement, evidence, label) with label 0 supports, 1 contradicts,
2 does not address. Public sets give real claims; pairs generated from library-like text
(PubMedQA abstracts, MedQuAD answers, NGC guideline summaries) teach the reversals the
public sets rarely show. Every pair carries a group (its source document) so splits are by
document, never by pair. `claim-support/eval-only/` is never read here.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from evident.train import perturb
from evident.train.perturb import CONTRADICTS, SUPPORTS, UNRELATED

LABELS = ("supports", "contradicts", "does_not_address")


@dataclass(frozen=True, slots=True)
class Pair:
    """One training or test example.

    group: the document it comes from; all pairs of a group fall in the same split.
    kind: the dataset, or the perturbation that made it.
    """

    statement: str
    evidence: str
    label: int
    source: str
    group: str
    kind: str = ""


def held_out(group: str, percent: int = 10) -> bool:
    """True for the fixed document-level held-out share of generated pairs."""
    return int(hashlib.sha256(group.encode()).hexdigest()[:8], 16) % 100 < percent


_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\[])")
_CITE = re.compile(r"\s*\[[^\]]*\]|<\|[^|]*\|>")


def sentences(text: str) -> list[str]:
    """Split prose into sentences (a regex is enough for training text)."""
    return [s.strip() for s in _SENT.split(re.sub(r"\s+", " ", text)) if s.strip()]


def _clean_claim(text: str) -> str:
    return re.sub(r"\s+", " ", _CITE.sub("", text)).strip()


# ---------------------------------------------------------------- public sets


def citation_integrity(root: Path, split: str) -> Iterator[Pair]:
    """Citing sentences against the cited abstract (SciFact format)."""
    base = root / "claim-support" / "citation-integrity"
    corpus = {}
    for line in (base / "corpus.jsonl").open():
        rec = json.loads(line)
        corpus[str(rec["doc_id"])] = rec["abstract"]
    for line in (base / f"claims_{split}.jsonl").open():
        rec = json.loads(line)
        claim = _clean_claim(rec["claim"])
        if len(claim.split()) < 4:
            continue
        evidence = rec.get("evidence") or {}
        for doc_id in map(str, rec.get("cited_doc_ids", [])):
            abstract = corpus.get(doc_id)
            if not abstract:
                continue
            entries = evidence.get(doc_id)
            if entries:
                for entry in entries:
                    text = " ".join(abstract[i] for i in entry["sentences"] if i < len(abstract))
                    label = SUPPORTS if entry["label"] == "SUPPORT" else CONTRADICTS
                    yield Pair(claim, text, label, "citation-integrity", doc_id)
            else:
                yield Pair(claim, " ".join(abstract[:3]), UNRELATED, "citation-integrity", doc_id)


_EI_LABELS = {
    "significantly increased": "increased",
    "significantly decreased": "decreased",
    "no significant difference": "same",
}
_EI_TEXT = {
    "increased": "{i} significantly increased {o} compared with {c}.",
    "decreased": "{i} significantly decreased {o} compared with {c}.",
    "same": "There was no significant difference in {o} between {i} and {c}.",
}


def evidence_inference(root: Path, split: str) -> Iterator[Pair]:
    """RCT findings: a (intervention, comparator, outcome) prompt turned into a statement.

    The annotated direction gives a supported statement; the other two directions give
    contradicted ones (a trial that found an increase contradicts 'no difference').
    """
    base = root / "claim-support" / "evidence-inference"
    ids = set((base / "splits" / f"{split}_article_ids.txt").read_text().split())
    prompts = {}
    with (base / "prompts_merged.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            prompts[row["PromptID"]] = row
    seen: set[tuple[str, str]] = set()
    rng = random.Random(7)
    with (base / "v2_annotations.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            direction = _EI_LABELS.get(row["Label"].strip())
            prompt = prompts.get(row["PromptID"])
            if (
                direction is None
                or prompt is None
                or row["PMCID"] not in ids
                or row["Valid Label"] != "True"
            ):
                continue
            evidence = re.sub(r"\s+", " ", row["Annotations"]).strip()
            if len(evidence.split()) < 5 or (row["PromptID"], evidence) in seen:
                continue
            seen.add((row["PromptID"], evidence))
            fill = {
                "i": prompt["Intervention"].strip().rstrip("."),
                "c": prompt["Comparator"].strip().rstrip("."),
                "o": prompt["Outcome"].strip().rstrip("."),
            }
            if max(len(v.split()) for v in fill.values()) > 25:
                continue
            text = _EI_TEXT[direction].format(**fill)
            yield Pair(text, evidence, SUPPORTS, "evidence-inference", row["PMCID"])
            other = rng.choice([d for d in _EI_TEXT if d != direction])
            yield Pair(
                _EI_TEXT[other].format(**fill),
                evidence,
                CONTRADICTS,
                "evidence-inference",
                row["PMCID"],
            )


def negation_nli(root: Path) -> Iterator[Pair]:
    """NLI pairs where a negation decides the label."""
    labels = {"entailment": SUPPORTS, "contradiction": CONTRADICTS, "neutral": UNRELATED}
    for name in ("SNLI", "MNLI", "RTE"):
        path = root / "claim-support" / "negation-nli" / f"{name}.txt"
        with path.open(encoding="latin-1", newline="") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                gold = row["gold_label"].strip()
                label = UNRELATED if gold == "not_entailment" else labels.get(gold)
                if label is not None:
                    yield Pair(row["Hypothesis"], row["Text"], label, "negation-nli", name)


def fever_symmetric(root: Path) -> Iterator[Pair]:
    """Contrastive FEVER pairs: one evidence, a claim and its minimal edit."""
    labels = {"SUPPORTS": SUPPORTS, "REFUTES": CONTRADICTS, "NOT ENOUGH INFO": UNRELATED}
    base = root / "claim-support" / "fever-symmetric"
    for path in sorted(base.glob("symmetric_v0.*/*.jsonl")):
        for line in path.open():
            rec = json.loads(line)
            claim = rec.get("claim") or rec.get("sentence2")
            evidence = rec.get("evidence") or rec.get("sentence1")
            label = labels.get(rec.get("gold_label") or rec.get("label", ""))
            if claim and evidence and label is not None:
                yield Pair(claim, evidence, label, "fever-symmetric", str(rec.get("id", "")))


def climate_fever(root: Path) -> Iterator[Pair]:
    """Claims against single Wikipedia sentences, labelled per sentence."""
    labels = {"SUPPORTS": SUPPORTS, "REFUTES": CONTRADICTS, "NOT_ENOUGH_INFO": UNRELATED}
    for line in (root / "claim-support" / "climate-fever" / "climate-fever.jsonl").open():
        rec = json.loads(line)
        for ev in rec["evidences"]:
            label = labels.get(ev["evidence_label"])
            if label is not None:
                yield Pair(rec["claim"], ev["evidence"], label, "climate-fever", rec["claim_id"])


def wice(root: Path) -> Iterator[Pair]:
    """Real-world claims against their cited web text (partial support is not support)."""
    labels = {"supported": SUPPORTS, "partially_supported": UNRELATED, "not_supported": UNRELATED}
    for path in sorted((root / "claim-support" / "wice" / "oracle_chunks").glob("*.jsonl")):
        for line in path.open():
            rec = json.loads(line)
            label = labels.get(rec["label"])
            if label is not None:
                text = " ".join(rec["evidence"])
                yield Pair(rec["claim"], text, label, "wice", rec["claim"][:40])


def pubmedqa_conclusions(root: Path) -> Iterator[Pair]:
    """An abstract's conclusion sentences against its results: support in other words.

    Each conclusion sentence is paired with the results sentences that share most words
    with it (supports), and with another abstract's results (does not address).
    """
    data = json.loads((root / "pubmedqa" / "ori_pqal.json").read_text())
    # The 500 test abstracts are left for `evident eval pubmedqa`.
    test = json.loads((root / "pubmedqa" / "test_ground_truth.json").read_text())
    records = sorted((k, v) for k, v in data.items() if k not in test)
    rng = random.Random(11)
    for i, (pmid, rec) in enumerate(records):
        contexts = [
            c
            for c, label in zip(rec["CONTEXTS"], rec["LABELS"], strict=False)
            if label == "RESULTS"
        ] or rec["CONTEXTS"][-1:]
        evidence_sents = sentences(" ".join(contexts))
        for claim in sentences(rec["LONG_ANSWER"])[:2]:
            if len(claim.split()) < 6 or not evidence_sents:
                continue
            ranked = sorted(evidence_sents, key=lambda e: -_overlap(claim, e))
            yield Pair(claim, " ".join(ranked[:2]), SUPPORTS, "pubmedqa-conclusions", pmid)
            other = records[(i + rng.randint(1, len(records) - 1)) % len(records)][1]
            yield Pair(
                claim, " ".join(other["CONTEXTS"][:1]), UNRELATED, "pubmedqa-conclusions", pmid
            )


def bioasq_answers(root: Path, years: tuple[str, ...] = ("7B", "8B", "9B")) -> Iterator[Pair]:
    """BioASQ ideal answers (7B-9B only) against their gold snippets: expert summaries
    supported by the text they summarise; against another question's snippets: not."""
    questions = []
    for year in years:
        for path in sorted((root / "bioasq-golden-7b-11b").glob(f"Task{year}*/*_golden.json")):
            questions += json.loads(path.read_text())["questions"]
    rng = random.Random(12)
    for i, q in enumerate(questions):
        snippets = [s["text"] for s in q.get("snippets", [])]
        answers = q.get("ideal_answer") or []
        if not snippets or not answers:
            continue
        for claim in sentences(answers[0])[:2]:
            if len(claim.split()) < 6:
                continue
            ranked = sorted(snippets, key=lambda e: -_overlap(claim, e))
            yield Pair(claim, " ".join(ranked[:2]), SUPPORTS, "bioasq-answers", q["id"])
            other = questions[(i + rng.randint(1, len(questions) - 1)) % len(questions)]
            if other.get("snippets"):
                text = other["snippets"][0]["text"]
                yield Pair(claim, text, UNRELATED, "bioasq-answers", q["id"])


def _overlap(a: str, b: str) -> int:
    return len(set(a.lower().split()) & set(b.lower().split()))


# ---------------------------------------------------------------- generated pairs


def library_like_documents(root: Path) -> Iterator[tuple[str, str]]:
    """(group, text) for PubMedQA abstracts, MedQuAD answers and NGC summaries."""
    from evident.ingest.readers.datasets import MedquadReader, NgcReader, PubmedQaReader

    for doc in PubmedQaReader().read(root / "pubmedqa" / "ori_pqal.json"):
        yield "pubmedqa:" + doc.meta.title[:60], doc.text
    reader = MedquadReader()
    for path in sorted((root / "medquad").glob("*_QA/*.xml"))[::6]:
        try:
            for doc in reader.read(path):
                yield "medquad:" + path.stem + path.parent.name, doc.text
        except Exception:
            continue
    ngc = NgcReader()
    for path in sorted((root / "ngc-guideline-summaries-open").rglob("*.xml")):
        try:
            for doc in ngc.read(path):
                yield "ngc:" + path.stem, doc.text
        except Exception:
            continue


_DRUG = re.compile(
    r"\b[a-z]{4,}(?:mab|nib|pril|sartan|olol|statin|cillin|mycin|azole|floxacin|prazole|"
    r"dronate|parin|oxacin|cycline|dipine|triptan|profen|fenac|sone|olone|gliptin|formin)\b"
)


def swap_terms(documents: Iterable[tuple[str, str]]) -> list[str]:
    """Drug names (by suffix) and the vocabulary's condition names, for term swaps."""
    from evident.index.vocab import load_vocabulary

    drugs: dict[str, int] = {}
    for _, text in documents:
        for m in _DRUG.finditer(text.lower()):
            drugs[m.group(0)] = drugs.get(m.group(0), 0) + 1
    conditions = [c.name for c in load_vocabulary().concepts.values()]
    return sorted(d for d, n in drugs.items() if n >= 2) + conditions


def lexicon(root: Path, drugs: Iterable[str]) -> perturb.Lexicon:
    """Condition names and synonyms (evident's vocabulary and the Disease Ontology) and
    drug names, for swaps that change or keep what a sentence is about."""
    from evident.index.vocab import load_vocabulary, read_obo

    groups = [[c.name, *c.synonyms, *c.lay] for c in load_vocabulary().concepts.values()]
    doid = root / "vocab" / "doid" / "doid.obo"
    if doid.exists():
        groups += [[c.name, *c.synonyms] for c in read_obo(doid)]
    groups += [[d] for d in drugs]
    return perturb.Lexicon(groups)


def _window(sents: list[str], i: int, rng: random.Random) -> str:
    """The sentence with a neighbour or two, so the model learns to find it in a passage."""
    lo = max(0, i - rng.randint(0, 1))
    hi = min(len(sents), i + 1 + rng.randint(0, 1))
    return " ".join(sents[lo:hi])


def generated(
    documents: Iterable[tuple[str, str]],
    terms: list[str],
    seed: int = 13,
    names: perturb.Lexicon | None = None,
) -> Iterator[Pair]:
    """Reversed, faithful and unrelated statements made from each document's sentences."""
    rng = random.Random(seed)
    for group, text in documents:
        sents = [s for s in sentences(text) if 8 <= len(s.split()) <= 60]
        if len(sents) < 2:
            continue
        for i in rng.sample(range(len(sents)), min(len(sents), 6)):
            sent = sents[i]
            evidence = _window(sents, i, rng)
            kinds = list(perturb.REVERSALS.items()) + list(perturb.FAITHFUL.items())
            rng.shuffle(kinds)
            made = 0
            for kind, (edit, label) in kinds:
                out = edit(sent, rng)
                if out and out != sent:
                    yield Pair(out, evidence, label, "generated", group, kind)
                    made += 1
                if made >= 3:
                    break
            swapped = (
                perturb.swap_term_lexicon(sent, rng, names)
                if names is not None
                else perturb.swap_term(sent, rng, terms)
            )
            if swapped:
                yield Pair(swapped, evidence, UNRELATED, "generated", group, "term_swap")
            synonym = perturb.swap_synonym(sent, rng, names) if names is not None else None
            if synonym and synonym != sent:
                yield Pair(synonym, evidence, SUPPORTS, "generated", group, "synonym")
            if rng.random() < 0.3:
                yield Pair(sent, evidence, SUPPORTS, "generated", group, "verbatim")
            other = rng.choice([s for j, s in enumerate(sents) if j != i])
            if other not in evidence:
                yield Pair(other, sent, UNRELATED, "generated", group, "other_sentence")


def training_pairs(root: Path) -> tuple[list[Pair], list[Pair]]:
    """(train, dev) pairs: public sets' train parts plus generated pairs, split by document."""
    train: list[Pair] = []
    dev: list[Pair] = []
    train += citation_integrity(root, "train")
    dev += citation_integrity(root, "dev")
    train += evidence_inference(root, "train")
    dev += evidence_inference(root, "validation")
    for pair in [
        *negation_nli(root),
        *fever_symmetric(root),
        *climate_fever(root),
        *wice(root),
        *pubmedqa_conclusions(root),
        *bioasq_answers(root),
    ]:
        (dev if held_out(pair.source + pair.group, 5) else train).append(pair)
    documents = list(library_like_documents(root))
    terms = swap_terms(documents)
    names = lexicon(root, terms)
    for pair in generated(documents, terms, names=names):
        (dev if held_out(pair.group) else train).append(pair)
    return train, dev
