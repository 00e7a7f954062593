"""Saved web pages: trafilatura strips the boilerplate, headings become sections."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lxml.html
import trafilatura
from lxml import etree

from evident.errors import ParseFailure
from evident.ingest.readers.base import decode_utf8, infer_kind, join_sections
from evident.models import DocumentMeta, ParsedDocument

_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_HEADING_REND = re.compile(r"h([1-6])")
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_TITLE_SEPARATORS = (" | ", " - ", " — ", " – ", " :: ")
_LINE_BREAK = "\x00"
_MIN_WORDS_IN_A_LINE = 5
_SOURCE_KEYS = ("citation_journal_title", "dc.publisher", "citation_publisher", "og:site_name")
_DATE_KEYS = (
    "citation_publication_date", "citation_date", "citation_online_date", "dc.date",
    "dc.date.issued", "dcterms.date", "dcterms.issued", "article:published_time",
    "datepublished", "date",
)  # fmt: skip


def _decode(path: Path, data: bytes) -> str:
    """Decode as UTF-8, or as the charset the page declares in a <meta> tag."""
    if not data.strip():
        raise ParseFailure(f"{path}: the file is empty; nothing to ingest")
    declared = _CHARSET.search(data[:4096])
    if declared:
        name = declared.group(1).decode("ascii").lower()
        try:
            codec = codecs.lookup(name).name
        except LookupError:
            codec = ""
        if codec and codec != "utf-8":
            try:
                return data.decode(codec)
            except UnicodeDecodeError as exc:
                raise ParseFailure(
                    f"{path}: the page declares charset {name!r} but byte {exc.start} is not "
                    f"valid in it; save the page again as UTF-8 and ingest again"
                ) from exc
    return decode_utf8(path, data)


def _meta_tags(tree: lxml.html.HtmlElement) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for meta in tree.iter("meta"):
        key = (meta.get("name") or meta.get("property") or meta.get("itemprop") or "").strip()
        content = " ".join((meta.get("content") or "").split())
        if key and content:
            found.setdefault(key.lower(), []).append(content)
    return found


def _first(meta: dict[str, list[str]], *keys: str) -> str:
    for key in keys:
        if meta.get(key):
            return meta[key][0]
    return ""


def _text_of(el: lxml.html.HtmlElement | None) -> str:
    return " ".join(el.text_content().split()) if el is not None else ""


def _title(tree: lxml.html.HtmlElement, meta: dict[str, list[str]]) -> str:
    stated = _first(meta, "citation_title", "dc.title", "og:title")
    if stated:
        return stated
    title_tag = _text_of(tree.find(".//title"))
    h1 = _text_of(tree.find(".//h1"))
    if h1 and title_tag.startswith(h1):
        return h1
    if title_tag:
        for sep in _TITLE_SEPARATORS:
            # "Article name | Site name": keep the article name when it is the longer part.
            head, found, tail = title_tag.rpartition(sep)
            if found and len(head) >= len(tail):
                return head.strip()
        return title_tag
    return h1


def _canonical(tree: lxml.html.HtmlElement, meta: dict[str, list[str]]) -> str | None:
    for link in tree.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        href = (link.get("href") or "").strip()
        if "canonical" in rel and href.startswith(("http://", "https://")):
            return href
    url = _first(meta, "og:url", "citation_fulltext_html_url", "citation_abstract_html_url")
    return url if url.startswith(("http://", "https://")) else None


def _inline(el: Any) -> str:
    """Text of a trafilatura element with <lb/> kept as a line break marker."""
    parts = [el.text or ""]
    for child in el:
        if child.tag == "lb":
            parts.append(_LINE_BREAK)
        elif child.tag not in ("list", "table", "graphic"):
            parts.append(_inline(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _clean(text: str) -> str:
    return "\n".join(" ".join(piece.split()) for piece in text.split(_LINE_BREAK))


def _lines(el: Any) -> list[str]:
    if el.tag == "list":
        lines = []
        for item in el.iter("item"):
            text = _clean(_inline(item))
            if text:
                lines.append(f"- {text}")
        return lines
    if el.tag == "table":
        rows = []
        for row in el.iter("row"):
            cells = [_clean(_inline(c)).replace("\n", " ") for c in row if c.tag == "cell"]
            if any(cells):
                rows.append(" | ".join(cells))
        return rows
    if el.tag == "graphic":
        return []
    lines = [_clean(_inline(el))]
    for child in el:
        if child.tag in ("list", "table"):
            lines.extend(_lines(child))
    return lines


def _body_parts(body: Any) -> list[tuple[str, str]]:
    """Split trafilatura's XML body into (heading path, text) parts; h1 is the title."""
    parts: list[tuple[str, str]] = []
    stack: list[str] = []
    heading = ""
    lines: list[str] = []
    for el in body:
        if el.tag == "head":
            parts.append((heading, "\n".join(lines)))
            lines = []
            match = _HEADING_REND.fullmatch(el.get("rend") or "")
            level = int(match.group(1)) if match else 2
            text = _clean(_inline(el)).replace("\n", " ")
            stack = stack[: max(level - 2, 0)] + ([text] if level > 1 and text else [])
            heading = " > ".join(stack)
        else:
            lines.extend(_lines(el))
    parts.append((heading, "\n".join(lines)))
    return parts


def _has_main_text(parts: list[tuple[str, str]]) -> bool:
    return any(
        len(line.split()) >= _MIN_WORDS_IN_A_LINE for _, body in parts for line in body.split("\n")
    )


def _extract(markup: str) -> Any:
    options: dict[str, Any] = {
        "include_comments": False,
        "include_tables": True,
        "include_formatting": False,
        "include_links": False,
        "include_images": False,
        "with_metadata": False,
    }
    doc: Any = trafilatura.bare_extraction(markup, **options)
    if doc is None or doc.body is None or not len(doc.body):
        doc = trafilatura.bare_extraction(markup, favor_recall=True, **options)
    return None if doc is None else doc.body


# Text extraction holds several copies of the tree: 200,000 table cells took 560 MB.
# A long article page has a few tens of thousands of elements.
MAX_HTML_ELEMENTS = 100_000


class HtmlReader:
    name = "html"
    suffixes = (".html", ".htm")
    priority = 60

    def accepts(self, path: Path, head: bytes) -> bool:
        return path.suffix.lower() in self.suffixes

    def read(self, path: Path) -> Iterator[ParsedDocument]:
        markup = _XML_DECLARATION.sub("", _decode(path, path.read_bytes()), count=1)
        try:
            tree = lxml.html.document_fromstring(markup)
        except (etree.ParserError, ValueError) as exc:
            raise ParseFailure(
                f"{path}: not readable HTML ({exc}); save the page again and ingest again"
            ) from exc
        elements = sum(1 for _ in tree.iter())
        if elements > MAX_HTML_ELEMENTS:
            raise ParseFailure(
                f"{path}: the page has {elements:,} HTML elements, over the "
                f"{MAX_HTML_ELEMENTS:,} limit; save the article's reader or print view, or "
                "convert it to Markdown, and ingest again"
            )
        meta = _meta_tags(tree)
        body = _extract(markup)
        parts = _body_parts(body) if body is not None else []
        if not _has_main_text(parts):
            raise ParseFailure(
                f"{path}: no main text found in the page (it may be only navigation, or built "
                "by JavaScript); save the article's reader or print view, or convert it to "
                "Markdown, and ingest again"
            )
        text, sections = join_sections(parts)
        title = _title(tree, meta) or next((s.heading for s in sections if s.heading), "")
        title = title or path.stem.replace("-", " ").replace("_", " ")
        date = _first(meta, *_DATE_KEYS)
        year_match = _YEAR.search(date)
        doi = _first(meta, "citation_doi", "dc.identifier", "prism.doi")
        doi = re.sub(r"^(doi:|https?://(dx\.)?doi\.org/)", "", doi, flags=re.I)
        pmid = _first(meta, "citation_pmid")
        licence = _first(meta, "dc.rights", "dcterms.license", "license")
        yield ParsedDocument(
            text=text,
            meta=DocumentMeta(
                title=title,
                kind=infer_kind(title),
                source=_first(meta, *_SOURCE_KEYS),
                year=int(year_match.group(1)) if year_match else None,
                authors=tuple(meta.get("citation_author") or meta.get("dc.creator") or ()),
                pmid=pmid if pmid.isdigit() else None,
                doi=doi if doi.startswith("10.") else None,
                url=_canonical(tree, meta),
                licence=licence or None,
                kind_inferred=True,
            ),
            sections=sections,
            format="html",
        )
