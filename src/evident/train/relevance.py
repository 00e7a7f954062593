"""Training pairs for the relevance model: does this passage (or sentence) answer the question?

A pair is (question, passage, label) with label 0 answers, 1 does not. Sources:

- BioASQ 7B-9B: gold snippets answer their question; the non-gold snippets BM25 ranks
  highest for it (from the 7B-9B snippet pool) are hard negatives. 10B-11B are held out for
  the retrieval benchmark and never read here.
- MedQuAD: an answer answers its own question; another answer from the same document
  (same condition, another question: causes vs. treatment) is the hard negative that
  teaches "what is asked", and a BM25 neighbour from another document the easy one.
  Questions also go in as a person would type them (lower case, no question mark, a
  typo), so question wording does not decide relevance.
- PubMedQA: an abstract's conclusion answers its question; another abstract's does not.
  The 500 test abstracts are left for `evident eval pubmedqa`.
- COVID-QA: the sentence holding the answer span answers the question; other sentences of
  the same paper (the most word-alike first) do not.

Sentence-level pairs teach what answers, not only what is on topic, because the composer
picks single sentences for the bottom line:

- MedQuAD sentences: an opening sentence of the right answer answers; an opening sentence
  of another answer about the same condition (its definition when treatment was asked) does
  not.
- PubMedQA sentences: each conclusion sentence answers; the abstract's own background,
  objective and methods sentences (same topic, no answer) do not.
- BioASQ ideal answers: the expert-written answer answers its question.
- NGC guideline summaries: a recommendation answers "how is X managed / screened"; the same
  guideline's objectives, methods and rating-scheme sentences ("a systematic review informed
  ...") do not.

Every pair has a group (its question's document) and the dev split is by group.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from lxml import etree

from evident.train.pairs import Pair, held_out, sentences

LABELS = ("answers", "does_not_answer")
ANSWERS, NOT = 0, 1

# Which MedQuAD folders keep their answers (the MedlinePlus ones were removed upstream).
MEDQUAD_WITHOUT_ANSWERS = ("10_MPlus_ADAM_QA", "11_MPlusDrugs_QA", "12_MPlusHerbsSupplements_QA")

RELEVANCE_SOURCES = {
    "bioasq": "BioASQ 7B-9B golden sets (CC BY 2.5): gold snippets against BM25-ranked "
    "non-gold snippets (10B-11B are never used)",
    "medquad": "MedQuAD (CC BY 4.0): answers against their questions and against other "
    "answers of the same document; 10 % of documents held out for evaluation",
    "pubmedqa": "PubMedQA PQA-L (MIT): conclusions against questions (test PMIDs excluded)",
    "covid-qa": "COVID-QA (Apache-2.0): answer sentences against other sentences of the paper",
    "pubmedqa-sentences": "PubMedQA PQA-L (MIT): conclusion sentences against the same "
    "abstract's background, objective and methods sentences (test PMIDs excluded)",
    "medquad-sentences": "MedQuAD (CC BY 4.0): opening sentences of an answer against opening "
    "sentences of other answers about the same condition (same held-out documents)",
    "bioasq-ideal": "BioASQ 7B-9B (CC BY 2.5): ideal answers against their questions",
    "ngc": "NGC guideline summaries (US public domain or no copyright restrictions): "
    "recommendations against the same guideline's scope and methods sentences",
}


def _bm25(texts: Sequence[str]):  # type: ignore[no-untyped-def]
    import bm25s

    from evident.index.lexical import tokenize

    retriever = bm25s.BM25(k1=0.9, b=0.75)
    retriever.index(tokenize(texts), show_progress=False)
    return retriever


def _top(retriever, query: str, k: int) -> list[int]:  # type: ignore[no-untyped-def]
    from evident.index.lexical import tokenize

    tokens = [t for t in tokenize([query])[0] if t in retriever.vocab_dict]
    if not tokens:
        return []
    rows, _ = retriever.retrieve([tokens], k=k, show_progress=False, n_threads=1)
    return [int(r) for r in rows[0]]


_TYPO_KEYS = "abcdefghijklmnopqrstuvwxyz"


def everyday(question: str, rng: random.Random) -> str:
    """The question as a person might type it: lower case, no '?', maybe one typo."""
    q = question.strip()
    if rng.random() < 0.5:
        q = q.rstrip("?").strip()
    if rng.random() < 0.5:
        q = q.lower()
    words = q.split()
    long_words = [i for i, w in enumerate(words) if len(w) > 5 and w.isalpha()]
    if long_words and rng.random() < 0.4:
        i = rng.choice(long_words)
        w = words[i]
        j = rng.randrange(1, len(w) - 1)
        edit = rng.choice(("drop", "swap", "replace"))
        if edit == "drop":
            w = w[:j] + w[j + 1 :]
        elif edit == "swap":
            w = w[: j - 1] + w[j] + w[j - 1] + w[j + 1 :]
        else:
            w = w[:j] + rng.choice(_TYPO_KEYS) + w[j + 1 :]
        words[i] = w
    return " ".join(words)


def _ask(question: str, rng: random.Random) -> str:
    return everyday(question, rng) if rng.random() < 0.3 else question


def bioasq_pairs(root: Path, years: tuple[str, ...] = ("7B", "8B", "9B")) -> Iterator[Pair]:
    questions = []
    for year in years:
        for path in sorted((root / "bioasq-golden-7b-11b").glob(f"Task{year}*/*_golden.json")):
            questions += json.loads(path.read_text())["questions"]
    pool: list[str] = []
    owner: list[str] = []  # the PMID of each pooled snippet
    index_of: dict[str, int] = {}
    for q in questions:
        for s in q.get("snippets", []):
            text = " ".join(s["text"].split())
            if len(text.split()) >= 5 and text not in index_of:
                index_of[text] = len(pool)
                pool.append(text)
                owner.append(s["document"].rsplit("/", 1)[-1])
    retriever = _bm25(pool)
    rng = random.Random(21)
    for q in questions:
        body = " ".join(q["body"].split())
        gold_docs = {d.rsplit("/", 1)[-1] for d in q.get("documents", [])}
        gold = []
        for s in q.get("snippets", []):
            text = " ".join(s["text"].split())
            if text in index_of and text not in gold:
                gold.append(text)
        if not gold:
            continue
        for text in rng.sample(gold, min(len(gold), 5)):
            yield Pair(_ask(body, rng), text, ANSWERS, "bioasq", q["id"], "gold")
        hard = [
            pool[r]
            for r in _top(retriever, body, 40)
            if owner[r] not in gold_docs and pool[r] not in gold
        ]
        for text in hard[:5]:
            yield Pair(_ask(body, rng), text, NOT, "bioasq", q["id"], "bm25")
        yield Pair(body, rng.choice(pool), NOT, "bioasq", q["id"], "random")


def medquad_documents(root: Path) -> Iterator[tuple[str, str, list[tuple[str, str, str]]]]:
    """(document key, focus, [(question, qtype, answer)]) for MedQuAD files with answers."""
    for folder in sorted((root / "medquad").iterdir()):
        if not folder.is_dir() or folder.name in MEDQUAD_WITHOUT_ANSWERS:
            continue
        for path in sorted(folder.glob("*.xml")):
            try:
                tree = etree.parse(str(path))
            except etree.XMLSyntaxError:
                continue
            r = tree.getroot()
            focus = " ".join((r.findtext("Focus") or r.findtext("doctitle-focus") or "").split())
            qa = []
            for pair in r.iter("QAPair", "pair"):
                qel = pair.find("Question")
                if qel is None:
                    qel = pair.find("question")
                ael = pair.find("Answer")
                if ael is None:
                    ael = pair.find("answer")
                if qel is None or ael is None:
                    continue
                answer = " ".join("".join(ael.itertext()).split())
                question = " ".join("".join(qel.itertext()).split())
                if answer and question:
                    qa.append((question, qel.get("qtype", ""), answer))
            if qa:
                yield f"{folder.name}/{path.stem}", focus, qa


def medquad_heldout(key: str) -> bool:
    """The MedQuAD documents kept out of training, for the consumer-question benchmark."""
    return held_out("medquad:" + key, 10)


def medquad_pairs(root: Path, per_document: int = 1) -> Iterator[Pair]:
    docs = list(medquad_documents(root))
    answers = [(key, a[:1500]) for key, _, qa in docs for _, _, a in qa]
    retriever = _bm25([a for _, a in answers])
    rng = random.Random(22)
    for key, _focus, qa in docs:
        if medquad_heldout(key):
            continue
        for question, _qtype, answer in rng.sample(qa, min(len(qa), per_document)):
            asked = _ask(question, rng)
            yield Pair(asked, answer, ANSWERS, "medquad", key, "answer")
            first = sentences(answer)[:2]
            if first and rng.random() < 0.5:
                yield Pair(asked, " ".join(first), ANSWERS, "medquad", key, "answer_start")
            siblings = [a for q, _, a in qa if a != answer and q != question]
            if siblings:
                yield Pair(asked, rng.choice(siblings), NOT, "medquad", key, "same_document")
            others = [answers[r][1] for r in _top(retriever, question, 10) if answers[r][0] != key]
            if others:
                yield Pair(asked, others[0], NOT, "medquad", key, "bm25")


def pubmedqa_pairs(root: Path) -> Iterator[Pair]:
    data = json.loads((root / "pubmedqa" / "ori_pqal.json").read_text())
    test = json.loads((root / "pubmedqa" / "test_ground_truth.json").read_text())
    records = sorted((k, v) for k, v in data.items() if k not in test)
    conclusions = [v["LONG_ANSWER"] for _, v in records]
    retriever = _bm25(conclusions)
    rng = random.Random(23)
    for i, (pmid, rec) in enumerate(records):
        question = rec["QUESTION"]
        yield Pair(_ask(question, rng), rec["LONG_ANSWER"], ANSWERS, "pubmedqa", pmid, "conclusion")
        near = [r for r in _top(retriever, question, 5) if r != i]
        if near:
            yield Pair(question, conclusions[near[0]], NOT, "pubmedqa", pmid, "bm25")


_WORD = re.compile(r"[a-z0-9]+")


def covid_qa_pairs(root: Path) -> Iterator[Pair]:
    data = json.loads((root / "covid-qa" / "200423_covidQA.json").read_text())["data"]
    rng = random.Random(24)
    for paper_no, paper in enumerate(data):
        for paragraph in paper["paragraphs"]:
            context = paragraph["context"]
            # Sentence spans, so the answer's offset finds its sentence.
            spans = []
            pos = 0
            for sent in sentences(context):
                start = context.find(sent[:40], pos)
                if start < 0:
                    continue
                spans.append((start, start + len(sent), sent))
                pos = start + 1
            if len(spans) < 4:
                continue
            for qa in paragraph["qas"]:
                if not qa.get("answers"):
                    continue
                at = qa["answers"][0]["answer_start"]
                hit = [s for s in spans if s[0] <= at < s[1] + 1]
                if not hit:
                    continue
                answer = hit[0][2]
                if len(answer.split()) < 5:
                    continue
                group = f"covid-{paper_no}"
                question = qa["question"]
                yield Pair(_ask(question, rng), answer, ANSWERS, "covid-qa", group, "sentence")
                q_words = set(_WORD.findall(question.lower()))
                others = [s[2] for s in spans if s[2] != answer and len(s[2].split()) >= 5]
                others.sort(key=lambda s: -len(q_words & set(_WORD.findall(s.lower()))))
                for text in others[:2] + rng.sample(others[2:], min(1, len(others[2:]))):
                    yield Pair(question, text, NOT, "covid-qa", group, "same_paper")


# Opening sentences that only announce a list or point elsewhere answer nothing by themselves.
_POINTER = re.compile(r":$|\bresources?\b|\bthis (?:section|page)\b|^\W*$", re.I)


def _openers(answer: str, n: int = 3) -> list[str]:
    return [
        s for s in sentences(answer)[:n] if 6 <= len(s.split()) <= 60 and not _POINTER.search(s)
    ]


def medquad_sentence_pairs(root: Path) -> Iterator[Pair]:
    rng = random.Random(25)
    for key, _focus, qa in medquad_documents(root):
        if medquad_heldout(key) or len(qa) < 2:
            continue
        question, qtype, answer = rng.choice(qa)
        mine = _openers(answer)
        theirs = [s for _, t, a in qa if t != qtype for s in _openers(a)]
        if not mine or not theirs:
            continue
        asked = _ask(question, rng)
        yield Pair(asked, rng.choice(mine), ANSWERS, "medquad-sentences", key, qtype)
        yield Pair(asked, rng.choice(theirs), NOT, "medquad-sentences", key, "other_question")


# Abstract sections that set the scene: on topic, but they never hold the finding.
_SCENE = {"BACKGROUND", "OBJECTIVE", "OBJECTIVES", "PURPOSE", "INTRODUCTION", "AIM", "AIMS"}
_HOW = {"METHODS", "DESIGN", "SETTING", "MATERIALS AND METHODS", "STUDY DESIGN", "METHOD"}


def pubmedqa_sentence_pairs(root: Path) -> Iterator[Pair]:
    data = json.loads((root / "pubmedqa" / "ori_pqal.json").read_text())
    test = json.loads((root / "pubmedqa" / "test_ground_truth.json").read_text())
    rng = random.Random(26)
    for pmid, rec in sorted(data.items()):
        if pmid in test:
            continue
        question = rec["QUESTION"]
        for sent in sentences(rec["LONG_ANSWER"])[:2]:
            if len(sent.split()) >= 6:
                yield Pair(
                    _ask(question, rng), sent, ANSWERS, "pubmedqa-sentences", pmid, "conclusion"
                )
        for wanted, kind in ((_SCENE, "background"), (_HOW, "methods")):
            pool = [
                s
                for text, label in zip(rec["CONTEXTS"], rec["LABELS"], strict=False)
                if label in wanted
                for s in sentences(text)
                if len(s.split()) >= 6
            ]
            if pool:
                yield Pair(
                    _ask(question, rng), rng.choice(pool), NOT, "pubmedqa-sentences", pmid, kind
                )


def bioasq_ideal_pairs(root: Path, years: tuple[str, ...] = ("7B", "8B", "9B")) -> Iterator[Pair]:
    rng = random.Random(27)
    for year in years:
        for path in sorted((root / "bioasq-golden-7b-11b").glob(f"Task{year}*/*_golden.json")):
            for q in json.loads(path.read_text())["questions"]:
                ideal = q.get("ideal_answer")
                text = ideal[0] if isinstance(ideal, list) and ideal else ideal
                if isinstance(text, str) and len(text.split()) >= 6:
                    body = " ".join(q["body"].split())
                    first = " ".join(sentences(text)[:2])
                    yield Pair(_ask(body, rng), first, ANSWERS, "bioasq-ideal", q["id"], "ideal")


# NGC fields that describe how a guideline was made or what it covers, never what to do.
_NGC_SCOPE = (
    "Guideline Objective(s)",
    "Target Population",
    "Intended Users",
    "Major Outcomes Considered",
    "Description of Methods Used to Collect/Select the Evidence",
    "Description of the Methods Used to Analyze the Evidence",
    "Description of Methods Used to Formulate the Recommendations",
    "Description of Method of Guideline Validation",
    "Type of Evidence Supporting the Recommendations",
    "Rating Scheme for the Strength of the Evidence",
    "Rating Scheme for the Strength of the Recommendations",
    "Qualifying Statements",
)
_RECOMMENDS = re.compile(r"\b(?:recommends?|should|suggests?|offer|consider)\b", re.I)
_NGC_QUESTIONS = {
    "Screening": (
        "Should {c} be screened for?",
        "screening for {c}",
        "who should be screened for {c}",
    ),
    "Prevention": ("How can {c} be prevented?", "what prevents {c}"),
    "Diagnosis": ("How is {c} diagnosed?", "diagnosis of {c}"),
    "Treatment": ("What is the treatment for {c}?", "how do you treat {c}", "treatment of {c}"),
    "Management": ("How should {c} be managed?", "management of {c}"),
}


def ngc_pairs(root: Path, per_guideline: int = 12) -> Iterator[Pair]:
    from evident.ingest.readers.datasets import html_lines

    rng = random.Random(28)
    for path in sorted((root / "ngc-guideline-summaries-open").rglob("*.xml")):
        try:
            tree = etree.parse(str(path))
        except etree.XMLSyntaxError:
            continue
        fields: dict[str, list[str]] = {}
        for field in tree.getroot().iter("Field"):
            name = field.get("Name") or ""
            if name and name not in fields:
                fields[name] = [
                    line
                    for value in field.iterfind("FieldValue")
                    for _, line in html_lines(value.get("Value") or "")
                ]
        conditions = [c.lstrip("- ").split(" (")[0] for c in fields.get("Disease/Condition(s)", [])]
        templates = [
            t for cat in fields.get("Guideline Category", []) for t in _NGC_QUESTIONS.get(cat, ())
        ]
        if not conditions or not templates:
            continue

        def said(lines: list[str]) -> list[str]:
            return [s for line in lines for s in sentences(line) if 8 <= len(s.split()) <= 70]

        answers = [
            s for s in said(fields.get("Major Recommendations", [])) if _RECOMMENDS.search(s)
        ]
        scope = [s for name in _NGC_SCOPE for s in said(fields.get(name, []))]
        if not answers or not scope:
            continue
        for _ in range(per_guideline // 2):
            question = rng.choice(templates).format(c=rng.choice(conditions[:3]).lower())
            if question[0].islower() and rng.random() < 0.5:
                question = question[0].upper() + question[1:]
            yield Pair(question, rng.choice(answers), ANSWERS, "ngc", path.stem, "recommendation")
            yield Pair(question, rng.choice(scope), NOT, "ngc", path.stem, "scope")


def relevance_pairs(root: Path) -> tuple[list[Pair], list[Pair]]:
    """(train, dev) pairs for the relevance model, split by question document."""
    train: list[Pair] = []
    dev: list[Pair] = []
    for pair in [
        *bioasq_pairs(root),
        *medquad_pairs(root),
        *pubmedqa_pairs(root),
        *covid_qa_pairs(root),
        *medquad_sentence_pairs(root),
        *pubmedqa_sentence_pairs(root),
        *bioasq_ideal_pairs(root),
        *ngc_pairs(root),
    ]:
        (dev if held_out("relevance:" + pair.source + pair.group, 5) else train).append(pair)
    return train, dev
