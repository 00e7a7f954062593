"""What the templates need beyond the domain objects: citation marks with their quoted
passages, the review progress steps, and a side-by-side diff of two revisions."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from evident.compose.render import Numbered
from evident.models import Audience, ReviewStatus, Statement

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
class Mark:
    """A citation number after a statement and the passages of that reference it quotes."""

    number: int
    quotes: tuple[str, ...]


def marks(numbered: Numbered, statement: Statement) -> list[Mark]:
    """The statement's citation numbers, each with the cited passage text."""
    quotes: dict[int, list[str]] = {}
    for citation in statement.citations:
        number = numbered.numbers.get(citation.document_id[:10])
        if number is not None and citation.quote not in quotes.setdefault(number, []):
            quotes[number].append(citation.quote)
    return [Mark(number, tuple(quotes[number])) for number in sorted(quotes)]


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
