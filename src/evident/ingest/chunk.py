"""Section-aware, sentence-aligned passages with offsets back into the document."""

from __future__ import annotations

import re
from functools import lru_cache

import pysbd

from evident.ingest.normalise import content_id
from evident.models import Chunk, ParsedDocument, SourceSection

# Bumped whenever passage boundaries change, so cached libraries built with the old
# boundaries (the benchmark's) are rebuilt rather than silently reused.
CHUNKER_VERSION = 2

# pysbd knows general English abbreviations; these clinical ones also end in a full stop
# without ending the sentence.
_CLINICAL_ABBREVIATIONS = {
    "approx",
    "b.i.d",
    "ca",
    "cf",
    "dr",
    "e.g",
    "et al",
    "etc",
    "fig",
    "figs",
    "i.e",
    "i.m",
    "i.v",
    "incl",
    "max",
    "min",
    "mo",
    "no",
    "p.o",
    "prof",
    "q.d",
    "q.i.d",
    "resp",
    "s.c",
    "sp",
    "spp",
    "st",
    "t.i.d",
    "vol",
    "vs",
    "wk",
    "wks",
    "yr",
    "yrs",
}
_ABBREV_TAIL = re.compile(r"(?:^|[\s(\[])([A-Za-z][A-Za-z.]*(?: al)?)\.\s*$")
# pysbd's time grows with the square of a line's length when the line has no sentence end
# (128 KB took a minute), so longer lines are cut into pieces of at most this many
# characters first: at the last sentence end in the window, else the last space.
MAX_LINE_CHARS = 2_000
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*\s+(?=[A-Z0-9(\[\"])")
_CLOSING = re.compile(r"[\s\"'\u201d\u2019)\]]*$")
_ANY_END = re.compile(r"[.!?\u2026]")
_LIST_MARKER = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    return pysbd.Segmenter(language="en", clean=False, char_span=True)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Return (start, end) spans of the sentences in text, whitespace trimmed.

    Lines are split first (headings, list items and paragraphs are never one sentence),
    lines longer than MAX_LINE_CHARS are cut into bounded pieces, then pysbd splits each
    piece; splits after clinical abbreviations are undone. Time is linear in len(text).
    """
    spans: list[tuple[int, int]] = []
    pos = 0
    for whole_line in text.split("\n"):
        line_start = pos
        pos += len(whole_line) + 1
        for piece_start, piece_end in _bounded_pieces(whole_line):
            spans.extend(
                (line_start + piece_start + s, line_start + piece_start + e)
                for s, e in _split_line(whole_line[piece_start:piece_end])
            )
    return spans


def _bounded_pieces(line: str) -> list[tuple[int, int]]:
    """Cut a line into (start, end) pieces of at most MAX_LINE_CHARS characters."""
    pieces: list[tuple[int, int]] = []
    start = 0
    while len(line) - start > MAX_LINE_CHARS:
        window = line[start : start + MAX_LINE_CHARS]
        ends = [m.end() for m in _SENTENCE_END.finditer(window)]
        cut = ends[-1] if ends else window.rfind(" ") + 1
        if cut <= 0:
            cut = MAX_LINE_CHARS
        pieces.append((start, start + cut))
        start += cut
    pieces.append((start, len(line)))
    return pieces


def _split_line(line: str) -> list[tuple[int, int]]:
    """Return the sentence spans of one bounded line."""
    if not line.strip():
        return []
    body = line[: _CLOSING.search(line).start()]  # type: ignore[union-attr]
    if _ANY_END.search(body, 0, len(body) - 1) is None:
        # No sentence end before the last character: pysbd would return the line whole
        # (checked on 383,000 lines of the demo library and the shared corpora), and
        # skipping it makes headings and unpunctuated text several times faster.
        start, end = len(line) - len(line.lstrip()), len(line.rstrip())
        return [(start, end)]
    pieces: list[tuple[int, int]] = []
    for seg in _segmenter().segment(line):
        s, e = seg.start, seg.end
        while s < e and line[s].isspace():
            s += 1
        while e > s and line[e - 1].isspace():
            e -= 1
        if s >= e:
            continue
        if pieces and _joins_previous(line[pieces[-1][0] : pieces[-1][1]], line[s:e]):
            pieces[-1] = (pieces[-1][0], e)
        else:
            pieces.append((s, e))
    return pieces


def _joins_previous(previous: str, current: str) -> bool:
    if current[:1].islower() or current[:1] in ",;:)":
        return True
    match = _ABBREV_TAIL.search(previous)
    return bool(match and match.group(1).lower() in _CLINICAL_ABBREVIATIONS)


def _sections(doc: ParsedDocument) -> list[SourceSection]:
    if doc.sections:
        return sorted(doc.sections, key=lambda s: s.start)
    return [SourceSection(heading="", start=0, end=len(doc.text))]


def chunk_document(
    doc: ParsedDocument, document_id: str, target_chars: int = 900, max_chars: int = 1400
) -> list[Chunk]:
    """Cut a document into passages that never cross a section boundary.

    Sentences are packed until a passage reaches target_chars; a single sentence longer
    than max_chars is cut at word boundaries so every passage stays embeddable.
    """
    chunks: list[Chunk] = []
    for section in _sections(doc):
        body = doc.text[section.start : section.end]
        sentences = [(section.start + s, section.start + e) for s, e in split_sentences(body)]
        sentences = [piece for span in sentences for piece in _cut_long(doc.text, span, max_chars)]
        group: list[tuple[int, int]] = []
        for span in sentences:
            if group and (
                span[1] - group[0][0] > max_chars or group[-1][1] - group[0][0] >= target_chars
            ):
                chunks.append(
                    _make_chunk(doc.text, document_id, section.heading, group, len(chunks))
                )
                group = []
            group.append(span)
        if group:
            chunks.append(_make_chunk(doc.text, document_id, section.heading, group, len(chunks)))
    return chunks


def _cut_long(text: str, span: tuple[int, int], max_chars: int) -> list[tuple[int, int]]:
    start, end = span
    out: list[tuple[int, int]] = []
    while end - start > max_chars:
        cut = text.rfind(" ", start, start + max_chars)
        if cut <= start:
            cut = start + max_chars
        out.append((start, cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    out.append((start, end))
    return out


def _make_chunk(
    text: str, document_id: str, heading: str, group: list[tuple[int, int]], ordinal: int
) -> Chunk:
    start, end = group[0][0], group[-1][1]
    passage = text[start:end]
    return Chunk(
        chunk_id=content_id(f"{document_id}:{start}:{passage}", 20),
        document_id=document_id,
        ordinal=ordinal,
        section=heading,
        text=passage,
        start=start,
        end=end,
        sentences=tuple((s - start, e - start) for s, e in group),
    )
