"""What the templates need beyond the domain objects: citation marks that name their
source and quote the cited passage in its context, the review progress steps, and a
side-by-side diff of two revisions."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from evident.compose.render import Numbered
from evident.models import Audience, Chunk, Citation, ReviewStatus, Statement

S = ReviewStatus

AUDIENCES: tuple[tuple[Audience, str], ...] = (
    (Audience.PHYSICIAN, "Physician"),
    (Audience.NURSE, "Nurse or allied health"),
    (Audience.STUDENT, "Student"),
    (Audience.PATIENT, "Patient"),
)

# The review steps shown as a progress badge; other states are shown as a notice instead.
STEPS: tuple[tuple[str, tuple[ReviewStatus, ...]], ...] = (
    ("Draft", (S.DRAFT, S.CHANGES_REQUESTED)),
    ("Submitted", (S.SUBMITTED,)),
    ("Under review", (S.UNDER_REVIEW,)),
    ("Approved", (S.APPROVED, S.PUBLISHED)),
)

REVIEWED = (S.APPROVED, S.PUBLISHED)


@dataclass(frozen=True, slots=True)
class Passage:
    """A cited span with the sentences around it in its passage (empty when unknown).

    cut_before, cut_after: the passage goes on beyond the context shown.
    """

    before: str
    quote: str
    after: str
    cut_before: bool = False
    cut_after: bool = False


@dataclass(frozen=True, slots=True)
class Mark:
    """A citation number after a statement: the source it names and the passages it quotes.

    origin: where the source comes from, e.g. "ESMO, 2021".
    """

    number: int
    title: str
    origin: str
    passages: tuple[Passage, ...]


# How much of the passage to show on each side of the quote: one sentence, at most this
# many characters of it.
CONTEXT_CHARS = 220
_BULLET = re.compile(r"^[\s*•–-]+(?=\S|$)")
_LINE = re.compile(r"\s*\n\s*(?:[*•–-]\s+)?")


def _context(citation: Citation, chunk: Chunk | None) -> Passage:
    """The quote with the sentence before and after it in its passage, where they exist."""
    if chunk is None or chunk.text[citation.start : citation.end] != citation.quote:
        return Passage("", citation.quote, "")
    text = chunk.text
    spans = chunk.sentences
    # The sentences that hold the quote, then one more on each side where there is one.
    first = max((i for i, (a, _) in enumerate(spans) if a <= citation.start), default=0)
    last = min((i for i, (_, b) in enumerate(spans) if b >= citation.end), default=len(spans))
    start = spans[first - 1][0] if 0 < first <= len(spans) else 0
    end = spans[last + 1][1] if last + 1 < len(spans) else len(text)
    before, after = text[start : citation.start], text[citation.end : end]
    cut_before, cut_after = start > 0, end < len(text)
    if len(before) > CONTEXT_CHARS:
        before, cut_before = before[-CONTEXT_CHARS:].split(" ", 1)[-1], True
    if len(after) > CONTEXT_CHARS:
        after, cut_after = after[:CONTEXT_CHARS].rsplit(" ", 1)[0], True
    # The passage's line breaks and list bullets are no part of the sentences around it.
    before = _BULLET.sub("", _LINE.sub(" ", before))
    after = _LINE.sub(" ", after).rstrip()
    return Passage(before, citation.quote, after, cut_before, cut_after)


def marks(numbered: Numbered, statement: Statement, chunks: Mapping[str, Chunk]) -> list[Mark]:
    """The statement's citation numbers, each naming its source and quoting the cited
    passages in their context (chunks: the cited passages by chunk id)."""
    references = {number: ref for _, members in numbered.groups for number, ref in members}
    cited: dict[int, list[Passage]] = {}
    for citation in statement.citations:
        number = numbered.numbers.get(citation.document_id[:10])
        if number is None:
            continue
        passage = _context(citation, chunks.get(citation.chunk_id))
        if passage not in cited.setdefault(number, []):
            cited[number].append(passage)
    out = []
    for number in sorted(cited):
        ref = references.get(number)
        meta = ref.meta if ref is not None else None
        title = meta.title.rstrip(".") if meta is not None else f"Reference {number}"
        origin = ", ".join(
            str(x) for x in (meta.source if meta else "", meta.year if meta else None) if x
        )
        out.append(Mark(number, title, origin, tuple(cited[number])))
    return out


def step_index(status: ReviewStatus) -> int:
    """Which review step the status is at (-1: rejected, superseded or retracted)."""
    for i, (_, states) in enumerate(STEPS):
        if status in states:
            return i
    return -1


@dataclass(frozen=True, slots=True)
class DiffRow:
    """One row of a two-column diff; kind is equal, delete, insert or replace."""

    kind: str
    left: str
    right: str


def side_by_side(old: str, new: str) -> list[DiffRow]:
    """Pair the lines of two texts for a two-column diff (unchanged runs are kept short)."""
    a, b = old.splitlines(), new.splitlines()
    rows: list[DiffRow] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            same = a[i1:i2]
            if len(same) > 4:
                skipped = f"… {len(same) - 2} unchanged lines …"
                same = [same[0], skipped, same[-1]]
            rows += [DiffRow("equal", line, line) for line in same]
            continue
        left, right = a[i1:i2], b[j1:j2]
        for k in range(max(len(left), len(right))):
            rows.append(
                DiffRow(
                    tag,
                    left[k] if k < len(left) else "",
                    right[k] if k < len(right) else "",
                )
            )
    return rows
