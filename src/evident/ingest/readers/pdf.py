"""PDF via pypdf: a section per page, wrapped lines joined back into paragraphs."""

from __future__ import annotations

import io
import logging
import re
import struct
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pypdf import PasswordType
from pypdf import PdfReader as PypdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError, PyPdfError

from evident.errors import ParseFailure
from evident.ingest.readers.base import infer_kind, join_sections, unwrap_lines
from evident.models import DocumentMeta, ParsedDocument

# pypdf raises many unrelated types on damaged files; these are the ones seen in practice.
_DAMAGED = (
    PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, AssertionError,
    RecursionError, ZeroDivisionError, OSError, struct.error, zlib.error,
)  # fmt: skip
_JUNK_TITLE = re.compile(
    r"^(untitled|document\d*|microsoft (word|powerpoint) - .*|powerpoint presentation|"
    r".*\.(docx?|pdf|pptx?|rtf|tex|dvi|indd|qxd))$",
    re.I,
)


@contextmanager
def _quiet_pypdf() -> Iterator[None]:
    # pypdf logs a warning for every harmless irregularity ("Ignoring wrong pointing object").
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _outline_titles(reader: PypdfReader) -> dict[int, str]:
    """Map 0-based page number -> the first outline (bookmark) title that starts there."""
    starts: dict[int, str] = {}

    def walk(items: list[Any]) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item)
                continue
            try:
                page = reader.get_destination_page_number(item)
            except _DAMAGED:
                continue
            title = " ".join(str(getattr(item, "title", "") or "").split())
            if page is not None and page >= 0 and title:
                starts.setdefault(page, title)

    try:
        walk(list(reader.outline))
    except _DAMAGED:
        return {}
    return starts


def _page_headings(count: int, starts: dict[int, str]) -> list[str]:
    headings: list[str] = []
    current = ""
    for page in range(count):
        current = starts.get(page, current)
        headings.append(f"Page {page + 1} — {current}" if current else f"Page {page + 1}")
    return headings


class PdfReader:
    name = "pdf"
    suffixes = (".pdf",)
    priority = 40

    def accepts(self, path: Path, head: bytes) -> bool:
        return path.suffix.lower() in self.suffixes or head.startswith(b"%PDF-")

    def read(self, path: Path) -> Iterator[ParsedDocument]:
        data = path.read_bytes()
        if not data.strip():
            raise ParseFailure(f"{path}: the file is empty; nothing to ingest")
        if b"%PDF-" not in data[:1024]:
            raise ParseFailure(
                f"{path}: not a readable PDF: there is no %PDF header (it may be a web page or "
                "another format saved as .pdf); download the real PDF and ingest again"
            )
        encrypted = ParseFailure(
            f"{path}: the PDF is encrypted; remove the password (e.g. "
            f"`qpdf --decrypt --password=PASSWORD {path.name} decrypted.pdf`) and ingest again"
        )
        with _quiet_pypdf():
            try:
                reader = PypdfReader(io.BytesIO(data), strict=False)
                # An owner password alone (empty user password) still lets anyone read it.
                if reader.is_encrypted and reader.decrypt("") is PasswordType.NOT_DECRYPTED:
                    raise encrypted
                pages = [page.extract_text() or "" for page in reader.pages]
                starts = _outline_titles(reader)
                info = reader.metadata
                title = str((info.title if info else None) or "").strip()
                author = str((info.author if info else None) or "").strip()
            except (DependencyError, FileNotDecryptedError) as exc:
                raise encrypted from exc
            except _DAMAGED as exc:
                raise ParseFailure(
                    f"{path}: not a readable PDF: {exc or type(exc).__name__}; "
                    "the file is damaged or truncated, download or export it again"
                ) from exc
        if not pages:
            raise ParseFailure(f"{path}: the PDF has no pages; nothing to ingest")
        texts = [unwrap_lines(t) for t in pages]
        if not any(t.strip() for t in texts):
            raise ParseFailure(
                f"{path}: no extractable text in {len(pages)} page(s); it looks scanned. "
                f"Run OCR first (e.g. `ocrmypdf {path.name} ocr.pdf`) and ingest the result"
            )
        text, sections = join_sections(
            list(zip(_page_headings(len(texts), starts), texts, strict=True))
        )
        if not title or _JUNK_TITLE.match(title):
            first_page = text[sections[0].start : sections[0].end]
            title = first_page.split("\n", 1)[0][:200].strip() or path.stem
        yield ParsedDocument(
            text=text,
            meta=DocumentMeta(
                title=title,
                kind=infer_kind(title),
                authors=tuple(a.strip() for a in author.split(";") if a.strip()),
                kind_inferred=True,
                extra={"pages": len(pages)},
            ),
            sections=sections,
            format="pdf",
        )
