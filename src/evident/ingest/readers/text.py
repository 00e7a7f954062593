"""Plain text: the first line is the title, blank-line paragraphs are kept, wrapped lines
joined."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from evident.ingest.normalise import normalise_text
from evident.ingest.readers.base import decode_utf8, infer_kind, join_sections, unwrap_lines
from evident.models import DocumentMeta, ParsedDocument


class TextReader:
    name = "text"
    suffixes = (".txt", ".text")
    priority = 90

    def accepts(self, path: Path, head: bytes) -> bool:
        return path.suffix.lower() in self.suffixes

    def read(self, path: Path) -> Iterator[ParsedDocument]:
        text = normalise_text(decode_utf8(path, path.read_bytes()))
        first, _, rest = text.partition("\n")
        title = first[:200] or path.stem
        # A hard-wrapped file would otherwise split a sentence at each line end; the title
        # line is kept apart so the first paragraph never joins it.
        text = f"{first}\n{unwrap_lines(rest)}" if rest else first
        body, sections = join_sections([("", text)])
        kind = infer_kind(title)
        yield ParsedDocument(
            text=body,
            meta=DocumentMeta(title=title, kind=kind, kind_inferred=True),
            sections=sections,
            format="text",
        )
