"""Helpers shared by readers: decoding, kind inference and section building."""

from __future__ import annotations

import re
from pathlib import Path

from evident.errors import ParseFailure
from evident.ingest.normalise import normalise_text
from evident.models import DocumentKind, SourceSection


def decode_utf8(path: Path, data: bytes) -> str:
    """Decode bytes as UTF-8 (a BOM is allowed) or fail with the fix.

    NUL bytes are valid UTF-8 but never occur in text: a file holding them is binary (or
    UTF-16) and would become a document of invisible characters.
    """
    if not data.strip():
        raise ParseFailure(f"{path}: the file is empty; nothing to ingest")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise ParseFailure(
            f"{path}: not text (a NUL byte at offset {nul}: a binary or UTF-16 file); "
            f"convert it to UTF-8 text first, e.g. `iconv -f utf-16 -t utf-8 {path.name}`"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseFailure(
            f"{path}: not UTF-8 text (bad byte at offset {exc.start}); "
            f"convert it first, e.g. `iconv -f latin1 -t utf-8 {path.name}`"
        ) from exc


# Conservative: only phrases that name the design outright. Anything else stays UNKNOWN.
_KIND_PATTERNS: list[tuple[DocumentKind, re.Pattern[str]]] = [
    (
        DocumentKind.GUIDELINE,
        re.compile(
            r"\b(clinical practice guideline|practice guideline|guideline|recommendation statement|"
            r"consensus statement)\b",
            re.I,
        ),
    ),
    (
        DocumentKind.SYSTEMATIC_REVIEW,
        re.compile(r"\b(systematic review|meta-analys[ie]s|meta analys[ie]s)\b", re.I),
    ),
    (
        DocumentKind.RANDOMISED_TRIAL,
        re.compile(r"\b(randomi[sz]ed (controlled )?trial|randomi[sz]ed clinical trial)\b", re.I),
    ),
    (DocumentKind.CASE_REPORT, re.compile(r"\b(case report|case series)\b", re.I)),
    (
        DocumentKind.OBSERVATIONAL,
        re.compile(
            r"\b(cohort study|case-control study|cross-sectional study|"
            r"retrospective (study|review)|"
            r"prospective (study|cohort))\b",
            re.I,
        ),
    ),
]


def infer_kind(title: str) -> DocumentKind:
    """Guess a document's kind from its title alone; UNKNOWN unless the title says so."""
    for kind, pattern in _KIND_PATTERNS:
        if pattern.search(title):
            return kind
    return DocumentKind.UNKNOWN


def join_sections(parts: list[tuple[str, str]]) -> tuple[str, tuple[SourceSection, ...]]:
    """Join (heading, body) pairs into one normalised text with a section per part.

    Headings are written into the text (so the stored document reads naturally) but each
    section's span starts after its heading line, so passages hold body text only.
    """
    pieces: list[str] = []
    sections: list[SourceSection] = []
    pos = 0
    for heading, body in parts:
        body = normalise_text(body)
        if not body:
            continue
        block = f"{heading}\n{body}" if heading else body
        if pieces:
            pos += 2  # the blank line between blocks
        start = pos + (len(heading) + 1 if heading else 0)
        pieces.append(block)
        pos += len(block)
        sections.append(SourceSection(heading=heading, start=start, end=pos))
    return "\n\n".join(pieces), tuple(sections)


_LIST_ITEM = re.compile(r"^([-*•▪◦●]|\(?\d{1,2}[.)]|\(?[a-z][.)])\s")
_FULL_LINE = 0.7  # a line at least this share of the usual width was wrapped
_MIN_WIDTH = 30  # below this the page is a table or a list, not prose: keep its lines


def unwrap_lines(text: str) -> str:
    """Join lines a layout wrapped (a PDF page, a hard-wrapped text file): one line a paragraph.

    A line is joined to the one before when that one ran (nearly) the full width of the
    page or file and the new line does not start a list item; a hyphen that split a word
    is removed. pypdf does not report vertical gaps, so a paragraph whose last line
    happens to be full is joined to the next one; the sentence splitter still separates
    them.
    """
    lines = [line.strip() for line in text.replace("\r", "\n").split("\n")]
    lengths = sorted(len(line) for line in lines if line)
    if not lengths:
        return ""
    width = lengths[int(0.9 * (len(lengths) - 1))]
    out: list[str] = []
    previous_len = 0
    for line in lines:
        if not line:
            out.append("")
            previous_len = 0
            continue
        wrapped = (
            width >= _MIN_WIDTH
            and previous_len >= _FULL_LINE * width
            and out
            and out[-1]
            and not _LIST_ITEM.match(line)
        )
        if wrapped:
            last = out[-1]
            if last.endswith("-") and last[-2:-1].isalpha() and line[:1].islower():
                out[-1] = last[:-1] + line
            else:
                out[-1] = f"{last} {line}"
        else:
            out.append(line)
        previous_len = len(line)
    return "\n".join(out)
