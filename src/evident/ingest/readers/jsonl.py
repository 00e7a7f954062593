"""JSON Lines: one document per line, `text` plus the Markdown front-matter keys."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from evident.errors import ParseFailure
from evident.ingest.normalise import normalise_text
from evident.ingest.readers.base import decode_utf8
from evident.ingest.readers.markdown import meta_from_front_matter, read_markdown
from evident.models import ParsedDocument

_NOTHING_INGESTED = "fix that line and ingest again (no record from this file was ingested)"


class JsonlReader:
    name = "jsonl"
    suffixes = (".jsonl", ".ndjson")
    priority = 60

    def accepts(self, path: Path, head: bytes) -> bool:
        return path.suffix.lower() in self.suffixes

    def read(self, path: Path) -> Iterator[ParsedDocument]:
        raw = decode_utf8(path, path.read_bytes())
        docs: list[ParsedDocument] = []
        # Parse every line before yielding any: one bad line fails the whole file, so a
        # fixed file can be ingested again without half of it already in the library.
        for number, line in enumerate(raw.split("\n"), start=1):
            if line.strip():
                docs.append(self._record(path, number, line))
        yield from docs

    def _record(self, path: Path, number: int, line: str) -> ParsedDocument:
        def fail(problem: str) -> ParseFailure:
            return ParseFailure(f"{path}: line {number}: {problem}; {_NOTHING_INGESTED}")

        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise fail(f"not valid JSON ({exc.msg} at column {exc.colno})") from exc
        if not isinstance(record, dict):
            raise fail(f"expected a JSON object, found {type(record).__name__}")
        body = record.get("text")
        if not isinstance(body, str) or not body.strip():
            raise fail('no "text" (a non-empty string is required)')
        fields = {k: v for k, v in record.items() if k != "text"}
        first_line = normalise_text(body).split("\n", 1)[0].lstrip("# ")[:200]
        try:
            meta = meta_from_front_matter(path, fields, first_line)
        except ParseFailure as exc:
            problem = str(exc).removeprefix(f"{path}: ").replace("front matter ", "")
            raise fail(problem) from exc
        # Text is Markdown, read as in .md files: headings become sections, and a
        # paragraph hard-wrapped over several lines is one paragraph.
        text, sections = read_markdown(body)
        return ParsedDocument(text=text, meta=meta, sections=sections, format="jsonl")
