"""Plain text: the first line is the title, blank-line paragraphs are kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from evident.ingest.normalise import normalise_text
from evident.ingest.readers.base import decode_utf8, infer_kind, join_sections
from evident.models import DocumentMeta, ParsedDocument


class TextReader:
    name = "text"
    suffixes = (".txt", ".text")
    priority = 90

    def accepts(self, path: Path, head: bytes) -> bool:
        return path.suffix.lower() in self.suffixes

    def read(self, path: Path) -> Iterator[ParsedDocument]:
        text = normalise_text(decode_utf8(path, path.read_bytes()))
        title = text.split("\n", 1)[0][:200] or path.stem
        body, sections = join_sections([("", text)])
        kind = infer_kind(title)
        yield ParsedDocument(
            text=body,
            meta=DocumentMeta(title=title, kind=kind, kind_inferred=True),
            sections=sections,
            format="text",
        )
