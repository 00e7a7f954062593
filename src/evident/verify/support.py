"""Check that every statement says what the passages it cites say.

A statement is judged against its cited passages in three steps, cheapest first:
  1. verbatim: the statement appears in the passages (after whitespace and case folding):
     supported, score 1.0, no model run;
  2. exact checks, where a rule is certain: a number (with its unit) the passages do not
     give means the source does not say this; a word the statement negates that the
     closest passage sentence states plainly (or the other way round), or the passage's
     own wording with one word swapped for its opposite (increased for decreased, always
     for never), means the source says the opposite;
  3. the claim-support model (verify/model.py), a cross-encoder trained for this, over
     windows of one or two passage sentences: P(supports) is the score, and a window it
     reads as contradicting the statement makes the verdict "contradicts".
A statement stays in the article when its citations together support it. Citation recall
and precision follow ALCE (Gao et al. 2023), with this judgement as their NLI model.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np

from evident.index.lexical import tokenize
from evident.models import Article, ArticleSection, Chunk, Citation, RemovedStatement, Statement
from evident.protocols import SupportModel

_SPACE = re.compile(r"\s+")
# Windows sent to the model per statement: the sentences that share the most words with it.
MAX_WINDOWS = 8


class Verdict(StrEnum):
    """What the cited evidence does for a statement."""

    SUPPORTS = "supports"
    CONTRADICTS = "contradicts"
    NOT_ADDRESSED = "does_not_address"


@dataclass(frozen=True, slots=True)
class Judgement:
    """The verdict on one statement against some evidence.

    score: P(supports), 1.0 for a verbatim quote.
    contradiction: the highest P(contradicts) over the evidence windows.
    passage: index of the passage the verdict rests on (the best window's).
    evidence: the sentence(s) of that passage the verdict rests on.
    check: which step decided: "verbatim", "number", "negation", "opposite" or "model".
    detail: what an exact check found (the missing number, the negated word).
    """

    verdict: Verdict
    score: float
    contradiction: float = 0.0
    passage: int = 0
    evidence: str = ""
    check: str = "model"
    detail: str = ""

    def reason(self, passage: str, threshold: float) -> str:
        """Why the statement is refused, naming the passage (empty when supported).

        The two kinds read differently: "the source says the opposite" (contradicts) and
        "the source does not say this" (does not address).
        """
        if self.verdict is Verdict.SUPPORTS:
            return ""
        if self.verdict is Verdict.CONTRADICTS:
            if self.check == "negation" and self.detail.startswith("+"):
                why = f"the statement negates {self.detail[1:]!r}, which the passage states"
            elif self.check == "negation":
                why = f"the passage negates {self.detail[1:]!r}, which the statement states"
            elif self.check == "opposite":
                mine, theirs = self.detail.split("/")
                why = f"the statement says {mine!r} where the passage says {theirs!r}"
            else:
                why = f"contradiction {self.contradiction:.2f}"
            return (
                f"the source says the opposite: passage {passage} says "
                f"{_short(self.evidence)} ({why})"
            )
        if self.check == "number":
            return f"the source does not say this: passage {passage} does not give {self.detail}"
        return (
            f"the source does not say this: passage {passage} does not support it "
            f"(support {self.score:.2f}, needs {threshold:.2f})"
        )


def _fold(text: str) -> str:
    return _SPACE.sub(" ", text).strip().lower()


def _short(text: str, limit: int = 160) -> str:
    text = _SPACE.sub(" ", text).strip()
    return f"“{text if len(text) <= limit else text[: limit - 1].rstrip() + '…'}”"


def quote_is_exact(citation: Citation, chunk: Chunk) -> bool:
    """True when the citation's quote is exactly the text at its span in the passage."""
    return chunk.text[citation.start : citation.end] == citation.quote


def coverage(statement: str, passage: str) -> float:
    """Share of the statement's content words that occur in the passage."""
    mine = tokenize([statement])[0]
    if not mine:
        return 0.0
    theirs = set(tokenize([passage])[0])
    return sum(1 for t in mine if t in theirs) / len(mine)


_OPENS = frozenset(".;:!?-•*)]\n")
_CLOSES = frozenset(".;:!?")


def is_quote(statement: str, passage: str) -> bool:
    """True when the statement is a whole sentence or clause of the passage, word for word.

    Whitespace and case aside, and with a final stop added or not. A quote that starts or
    ends inside a sentence is not one: cutting "… unless the wound is infected" off a
    sentence changes what it says, so such a cut goes to the model like any other edit.
    """
    quoted = _fold(statement).rstrip(".;:!?")
    text = _fold(passage)
    if not quoted:
        return False
    start = text.find(quoted)
    while start >= 0:
        before = text[:start].rstrip()
        after = text[start + len(quoted) :].lstrip()
        if (not before or before[-1] in _OPENS) and (not after or after[0] in _CLOSES):
            return True
        start = text.find(quoted, start + 1)
    return False


# -- exact checks ---------------------------------------------------------------------------
_UNITS = (
    r"mg/kg|mg/dl|mmol/l|µmol/l|umol/l|mg|mcg|µg|g|kg|ml|l|iu|units?|%|percent|"
    r"mm|cm|m|days?|weeks?|months?|years?|hours?|h|minutes?|min|times"
)
_QUANTITY = re.compile(
    rf"(?<![\w.])(?<![A-Za-z]-)(\d+(?:[.,]\d+)?)(?:\s*[-–]\s*\d+(?:[.,]\d+)?)?\s*({_UNITS})?(?![\w])",
    re.IGNORECASE,
)


def _quantities(text: str) -> set[tuple[str, str]]:
    out = set()
    for m in _QUANTITY.finditer(text):
        number = m.group(1).replace(",", ".")
        unit = (m.group(2) or "").lower().rstrip("s")
        out.add((number, unit))
        # A range "10-20 mg" gives its upper bound the unit too.
        for upper in re.findall(r"[-–]\s*(\d+(?:[.,]\d+)?)", m.group(0)):
            out.add((upper.replace(",", "."), unit))
    return out


def missing_quantity(statement: str, evidence: str) -> str:
    """A number (with its unit, where it has one) the statement gives and the evidence
    does not; empty when every one is there."""
    theirs = _quantities(evidence)
    numbers = {n for n, _ in theirs}
    for number, unit in sorted(_quantities(statement)):
        if number not in numbers or (unit and (number, unit) not in theirs):
            return f"{number} {unit}".strip()
    return ""


_NEGATION = frozenset(["not", "no", "never", "cannot", "without", "none", "neither", "nor"])
_WORD = re.compile(r"[a-z0-9]+(?:'t)?")


def _negated_words(text: str) -> tuple[dict[str, str], set[str]]:
    """(stem -> word for content words a negation governs; stems used outside one).

    A negation governs the next three words ("is not usually treated" negates 'treated').
    """
    words = _WORD.findall(text.lower())
    negated: dict[str, str] = {}
    plain: set[str] = set()
    scope = 0
    for w in words:
        if w in _NEGATION or w.endswith("n't"):
            scope = 3
            continue
        stems = tokenize([w])[0]
        if scope:
            scope -= 1
            for stem in stems:
                negated.setdefault(stem, w)
        else:
            plain.update(stems)
    return negated, plain


def negation_clash(statement: str, sentence: str) -> str:
    """A word one side only negates and the other only states: '+word' when the statement
    negates it, '-word' when the evidence does; empty when there is none.

    A word a side uses both ways ("rest helps, but ice does not help") decides nothing.
    """
    mine_neg, mine = _negated_words(statement)
    theirs_neg, theirs = _negated_words(sentence)
    # In reading order, so the word named is the one right after the negation.
    for stem, word in mine_neg.items():
        if stem not in mine and stem in theirs and stem not in theirs_neg:
            return f"+{word}"
    for stem, word in theirs_neg.items():
        if stem not in theirs and stem in mine and stem not in mine_neg:
            return f"-{word}"
    return ""


# Words whose swap for the other reverses a statement; read both ways round. (The
# training edits in train/perturb.py keep their own list: it is part of what made the
# shipped weights, so it changes only with a retrain.)
OPPOSITES: tuple[tuple[str, str], ...] = (
    ("increased", "decreased"),
    ("increase", "decrease"),
    ("increases", "decreases"),
    ("increasing", "decreasing"),
    ("higher", "lower"),
    ("more", "less"),
    ("improved", "worsened"),
    ("improves", "worsens"),
    ("reduced", "increased"),
    ("reduces", "increases"),
    ("reduce", "increase"),
    ("greater", "smaller"),
    ("larger", "smaller"),
    ("longer", "shorter"),
    ("effective", "ineffective"),
    ("safe", "unsafe"),
    ("beneficial", "harmful"),
    ("before", "after"),
    ("above", "below"),
    ("positive", "negative"),
    ("superior", "inferior"),
    ("high", "low"),
    ("early", "late"),
    ("acute", "chronic"),
    ("benign", "malignant"),
    ("always", "never"),
    ("common", "rare"),
    ("commonly", "rarely"),
    ("frequently", "rarely"),
    ("usually", "rarely"),
    ("often", "rarely"),
    ("most", "few"),
    ("recommended", "discouraged"),
)
_OPPOSITE: dict[str, set[str]] = {}
for _a, _b in OPPOSITES:
    _OPPOSITE.setdefault(_a, set()).add(_b)
    _OPPOSITE.setdefault(_b, set()).add(_a)


def opposite_clash(statement: str, sentence: str) -> str:
    """'mine/theirs' when the statement uses a word the sentence lacks and the sentence uses
    its opposite instead (increased for decreased, always for never); else empty."""
    mine = _WORD.findall(statement.lower())
    theirs = set(_WORD.findall(sentence.lower()))
    for word in mine:
        if word in theirs:
            continue
        for other in sorted(_OPPOSITE.get(word, ())):
            if other in theirs and other not in mine:
                return f"{word}/{other}"
    return ""


# -- the judgement ---------------------------------------------------------------------------
def _windows(statement: str, passages: Sequence[str]) -> list[tuple[int, str]]:
    """(passage index, text) for each sentence and each pair of neighbouring sentences,
    the MAX_WINDOWS that share most words with the statement."""
    from evident.ingest.chunk import split_sentences

    out: list[tuple[float, int, str]] = []
    for p, text in enumerate(passages):
        sents = [text[s:e] for s, e in split_sentences(text)] or [text]
        for i, sent in enumerate(sents):
            out.append((coverage(statement, sent), p, sent))
            if i + 1 < len(sents):
                pair = f"{sent} {sents[i + 1]}"
                out.append((coverage(statement, pair) - 0.01, p, pair))
    out.sort(key=lambda w: -w[0])
    return [(p, text) for _, p, text in out[:MAX_WINDOWS]]


def judge(
    statement: str,
    passages: Sequence[str],
    model: SupportModel,
    threshold: float,
    contradiction_threshold: float = 0.5,
) -> Judgement:
    """Judge whether the passages (together) support the statement."""
    joined = " ".join(passages)
    p = next((i for i, t in enumerate(passages) if is_quote(statement, t)), -1)
    if p >= 0:
        return Judgement(Verdict.SUPPORTS, 1.0, passage=p, evidence=statement, check="verbatim")
    windows = _windows(statement, passages)
    if not windows:
        return Judgement(Verdict.NOT_ADDRESSED, 0.0)
    missing = missing_quantity(statement, joined)
    if missing:
        p, text = windows[0]
        return Judgement(
            Verdict.NOT_ADDRESSED, 0.0, passage=p, evidence=text, check="number", detail=missing
        )
    p, best = windows[0]
    overlap = coverage(statement, best)
    if overlap >= 0.6:
        clash = negation_clash(statement, best)
        if clash:
            return Judgement(Verdict.CONTRADICTS, 0.0, 1.0, p, best, check="negation", detail=clash)
    # Nearly the passage's own words with one word swapped for its opposite.
    if overlap >= 0.7:
        swapped = opposite_clash(statement, best)
        if swapped:
            return Judgement(
                Verdict.CONTRADICTS, 0.0, 1.0, p, best, check="opposite", detail=swapped
            )
    probs = model.probabilities([(statement, text) for _, text in windows])
    s = int(np.argmax(probs[:, 0]))
    c = int(np.argmax(probs[:, 1]))
    support, contradiction = float(probs[s, 0]), float(probs[c, 1])
    if support >= threshold:
        return Judgement(Verdict.SUPPORTS, support, contradiction, *windows[s])
    if contradiction >= contradiction_threshold:
        return Judgement(Verdict.CONTRADICTS, support, contradiction, *windows[c])
    return Judgement(Verdict.NOT_ADDRESSED, support, contradiction, *windows[s])


DISAGREE_HEADING = "Sources disagree"
DISAGREE_INTRO = "These sources say different things on the same point; weigh both."


def disagreement_section(pairs: Sequence[tuple[Statement, Statement]]) -> ArticleSection:
    """The "Sources disagree" section: each statement followed by the quote against it."""
    statements = [s for pair in pairs for s in pair]
    return ArticleSection(DISAGREE_HEADING, tuple(statements), intro=DISAGREE_INTRO)


def verify_article(
    article: Article,
    chunks: Mapping[str, Chunk],
    threshold: float,
    model: SupportModel,
) -> Article:
    """Drop statements their citations do not support and record citation recall/precision.

    A citation whose quote is not at its span in a library passage is invalid: it is
    removed, and a statement left with no valid citation is removed with the reason. A
    statement its passages contradict, or do not address, is removed with a reason that
    names the passage and says which of the two it is.
    """
    removed: list[RemovedStatement] = list(article.removed)
    disagreements: list[tuple[Statement, Statement]] = []
    supported = 0
    citations_total = 0
    citations_precise = 0

    def check(statement: Statement) -> Statement | None:
        nonlocal supported, citations_total, citations_precise
        valid = [
            c
            for c in statement.citations
            if c.chunk_id in chunks and quote_is_exact(c, chunks[c.chunk_id])
        ]
        if not valid:
            removed.append(RemovedStatement(statement, "no citation points at a library passage"))
            return None
        texts = [chunks[c.chunk_id].text for c in valid]
        verdict = judge(statement.text, texts, model, threshold)
        if verdict.verdict is not Verdict.SUPPORTS:
            passage = valid[verdict.passage].chunk_id
            removed.append(RemovedStatement(statement, verdict.reason(passage, threshold)))
            return None
        supported += 1
        if len(valid) == 1:
            citations_total += 1
            citations_precise += 1
            return replace(statement, citations=tuple(valid), support=round(verdict.score, 3))
        singles = [judge(statement.text, [t], model, threshold) for t in texts]
        # A citation whose passage says the opposite is taken off the statement and shown
        # beside it under "Sources disagree", never left to look like support.
        against = [
            c for c, j in zip(valid, singles, strict=True) if j.verdict is Verdict.CONTRADICTS
        ]
        kept = [c for c in valid if c not in against]
        if against and kept:
            kept_statement = replace(statement, citations=tuple(kept), lead="")
            for citation in against:
                disagreements.append((kept_statement, Statement(citation.quote, (citation,))))
            valid = kept
            singles = [j for j in singles if j.verdict is not Verdict.CONTRADICTS]
        citations_total += len(valid)
        precise = sum(1 for j in singles if j.verdict is Verdict.SUPPORTS)
        # Citations that only support the statement together are all needed (ALCE).
        citations_precise += precise or len(valid)
        return replace(statement, citations=tuple(valid), support=round(verdict.score, 3))

    total = len(article.statements())
    bottom = tuple(s for s in (check(st) for st in article.bottom_line) if s is not None)
    sections = []
    for section in article.sections:
        kept = tuple(s for s in (check(st) for st in section.statements) if s is not None)
        if kept:
            sections.append(ArticleSection(section.heading, kept, section.group))
    if disagreements:
        sections.append(disagreement_section(disagreements))
    used = {c.document_id for st in bottom for c in st.citations} | {
        c.document_id for sec in sections for st in sec.statements for c in st.citations
    }
    metrics = dict(article.metrics)
    metrics.update(
        {
            "statements": float(total),
            "statements_kept": float(supported),
            "citation_recall": supported / total if total else 0.0,
            "citation_precision": citations_precise / citations_total if citations_total else 0.0,
        }
    )
    return replace(
        article,
        bottom_line=bottom,
        sections=tuple(sections),
        references=tuple(r for r in article.references if r.document_id in used),
        removed=tuple(removed),
        metrics=metrics,
    )
