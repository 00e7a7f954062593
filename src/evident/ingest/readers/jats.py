"""JATS/NLM article XML (PMC full text, publisher exports): front matter, abstract, body."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from lxml import etree

from evident.errors import ParseFailure
from evident.ingest.readers.base import infer_kind, join_sections
from evident.ingest.readers.pubmed import (
    element_text,
    first_year,
    kind_from_publication_types,
    local_name,
    parse_xml,
    pubmed_url,
    read_nonempty,
)
from evident.models import DocumentKind, DocumentMeta, ParsedDocument

_SNIFF = re.compile(
    rb"<!DOCTYPE\s+(article|pmc-articleset)\b"
    rb"|<pmc-articleset[\s>]"
    rb"|<article[\s>][^>]*(jats|dtd-version|article-type|xmlns:xlink)",
    re.I,
)
_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
_CC = re.compile(r"creativecommons\.org/(licenses|publicdomain)/([a-z-]+)/(\d\.\d)", re.I)
_ARTICLE_TYPES = {
    "practice-guideline": DocumentKind.GUIDELINE,
    "guideline": DocumentKind.GUIDELINE,
    "systematic-review": DocumentKind.SYSTEMATIC_REVIEW,
    "meta-analysis": DocumentKind.SYSTEMATIC_REVIEW,
    "case-report": DocumentKind.CASE_REPORT,
    "review-article": DocumentKind.NARRATIVE_REVIEW,
}
_DATE_PREFERENCE = ("ppub", "epub", "pub", "collection", "epub-ppub")
# Inline content that would garble a paragraph; the block ones are emitted separately.
_PARA_SKIP = ("fig", "table-wrap", "list", "boxed-text", "disp-quote", "fn", "tex-math")
_PARA_BLOCKS = frozenset(("fig", "table-wrap", "list", "boxed-text", "disp-quote"))
_NOT_TEXT = ("sec", "title", "label", "ref-list", "fn-group", "table-wrap-foot")


def _strip_namespaces(root: etree._Element) -> None:
    # Some exports put JATS in a default namespace; match on local names throughout.
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.startswith("{"):
            el.tag = local_name(el)


def _table_lines(table: etree._Element) -> list[str]:
    lines = []
    for row in table.iter("tr"):
        cells = [element_text(c) for c in row if local_name(c) in ("td", "th")]
        if any(cells):
            lines.append(" | ".join(cells))
    return lines


def _caption(el: etree._Element) -> str:
    label = element_text(el.find("label"))
    caption = element_text(el.find("caption"))
    return " ".join(p for p in (label, caption) if p)


def _block_lines(parent: etree._Element, inside_p: bool = False) -> list[str]:
    """Return the readable lines of a container's block children (not its sub-sections)."""
    lines: list[str] = []
    for child in parent:
        name = local_name(child)
        if not name or name in _NOT_TEXT or (inside_p and name not in _PARA_BLOCKS):
            continue
        if name == "p":
            lines.append(element_text(child, skip=_PARA_SKIP))
            # Figures, tables and lists often sit inside a paragraph in PMC files.
            lines.extend(_block_lines(child, inside_p=True))
        elif name == "list":
            for item in child.iter("list-item"):
                text = " ".join(
                    element_text(p, skip=("list", *_PARA_SKIP))
                    for p in item
                    if local_name(p) == "p"
                )
                if text:
                    lines.append(f"- {text}")
        elif name == "fig":
            lines.append(_caption(child))
        elif name == "table-wrap":
            lines.append(_caption(child))
            for table in child.iter("table"):
                lines.extend(_table_lines(table))
        elif name in ("boxed-text", "disp-quote", "statement", "glossary"):
            lines.extend(_block_lines(child))
        elif name == "def-list":
            for item in child.iter("def-item"):
                term, definition = element_text(item.find("term")), element_text(item.find("def"))
                lines.append(f"{term}: {definition}" if term else definition)
        elif name in ("disp-formula", "preformat", "verse-group", "speech"):
            lines.append(element_text(child, skip=("tex-math",)))
    return [line for line in lines if line]


def _sec_parts(parent: etree._Element, path: list[str]) -> list[tuple[str, str]]:
    parts = [(" > ".join(path), "\n".join(_block_lines(parent)))]
    for sec in parent.iterfind("sec"):
        title = element_text(sec.find("title")) or (sec.get("sec-type") or "").title() or "Section"
        parts.extend(_sec_parts(sec, [*path, title]))
    return parts


def _abstract_parts(meta: etree._Element) -> list[tuple[str, str]]:
    abstracts = meta.findall("abstract")
    main = [a for a in abstracts if not a.get("abstract-type")] or abstracts[:1]
    parts: list[tuple[str, str]] = []
    for abstract in main:
        parts.extend(_sec_parts(abstract, ["Abstract"]))
    return parts


def _year(meta: etree._Element) -> int | None:
    dates = meta.findall("pub-date")

    def rank(date: etree._Element) -> int:
        kind = date.get("pub-type") or date.get("date-type") or ""
        return _DATE_PREFERENCE.index(kind) if kind in _DATE_PREFERENCE else len(_DATE_PREFERENCE)

    for date in sorted(dates, key=rank):
        year = first_year(element_text(date.find("year")))
        if year:
            return year
    return None


def _authors(meta: etree._Element) -> tuple[str, ...]:
    authors: list[str] = []
    for contrib in meta.iterfind("contrib-group/contrib"):
        if contrib.get("contrib-type", "author") != "author":
            continue
        name = contrib.find("name")
        if name is not None:
            surname = element_text(name.find("surname"))
            given = element_text(name.find("given-names"))
            initials = "".join(w[0] for w in re.split(r"[\s.-]+", given) if w)
            authors.append(f"{surname} {initials}".strip())
        elif contrib.find("collab") is not None:
            authors.append(element_text(contrib.find("collab")))
        elif contrib.find("string-name") is not None:
            authors.append(element_text(contrib.find("string-name")))
    return tuple(a for a in authors if a)


def _licence(meta: etree._Element) -> str | None:
    licence = meta.find("permissions/license")
    if licence is None:
        return None
    ref = element_text(licence.find("license_ref")) or licence.get(_XLINK_HREF) or ""
    match = _CC.search(ref) or _CC.search(element_text(licence))
    if match:
        family, name, version = match.groups()
        return f"CC0 {version}" if family == "publicdomain" else f"CC {name.upper()} {version}"
    text = ref or element_text(licence)
    return text[:200] or None


def _kind(article: etree._Element, meta: etree._Element, title: str) -> tuple[DocumentKind, bool]:
    article_type = (article.get("article-type") or "").lower()
    stated = _ARTICLE_TYPES.get(article_type)
    if (
        stated is DocumentKind.NARRATIVE_REVIEW
        and infer_kind(title) is DocumentKind.SYSTEMATIC_REVIEW
    ):
        return DocumentKind.SYSTEMATIC_REVIEW, True  # a review whose title says systematic
    if stated:
        return stated, False
    headings = [
        element_text(s)
        for group in meta.iterfind("article-categories//subj-group")
        if group.get("subj-group-type", "heading") == "heading"
        for s in group.findall("subject")
    ]
    from_heading = kind_from_publication_types(headings)
    if from_heading:
        return from_heading, False
    return infer_kind(title), True


def parse_jats_article(path: Path, article: etree._Element) -> ParsedDocument:
    """Build a document from one JATS <article> element (namespaces already stripped)."""
    meta = article.find("front/article-meta")
    if meta is None:
        raise ParseFailure(
            f"{path}: the <article> has no <front>/<article-meta>; this is not a complete JATS "
            "file. Download the full-text XML again (e.g. from PMC) and ingest again"
        )
    title = element_text(meta.find("title-group/article-title"), skip=("xref", "fn"))
    if not title:
        raise ParseFailure(f"{path}: the article has no <article-title>; add one and ingest again")
    ids = {
        (el.get("pub-id-type") or "").lower(): element_text(el)
        for el in meta.iterfind("article-id")
    }
    pmid = ids.get("pmid") or None
    pmcid = ids.get("pmcid") or ids.get("pmc") or None
    if pmcid and not pmcid.upper().startswith("PMC"):
        pmcid = f"PMC{pmcid}"
    journal_meta = article.find("front/journal-meta")
    journal = ""
    if journal_meta is not None:
        journal = element_text(journal_meta.find(".//journal-title")) or element_text(
            journal_meta.find("journal-id")
        )
    parts = _abstract_parts(meta)
    body = article.find("body")
    if body is not None:
        parts.extend(_sec_parts(body, []))
    text, sections = join_sections(parts)
    if not text:
        raise ParseFailure(
            f"{path}: the article {title[:80]!r} has no abstract or body text; "
            "download the full-text XML (not the metadata-only record) and ingest again"
        )
    kind, inferred = _kind(article, meta, title)
    url = None
    if pmcid:
        url = f"https://pmc.ncbi.nlm.nih.gov/articles/{pmcid}/"
    elif pmid:
        url = pubmed_url(pmid)
    keywords = [element_text(k) for k in meta.iterfind("kwd-group/kwd")]
    extra: dict[str, object] = {"article_type": article.get("article-type") or ""}
    if pmcid:
        extra["pmcid"] = pmcid
    if keywords:
        extra["keywords"] = [k for k in keywords if k]
    doc_meta = DocumentMeta(
        title=title,
        kind=kind,
        source=journal,
        year=_year(meta),
        authors=_authors(meta),
        pmid=pmid,
        doi=ids.get("doi") or None,
        url=url,
        licence=_licence(meta),
        kind_inferred=inferred,
        extra=extra,
    )
    return ParsedDocument(text=text, meta=doc_meta, sections=sections, format="jats")


class JatsXmlReader:
    name = "jats"
    suffixes = (".xml", ".nxml")
    priority = 30

    def accepts(self, path: Path, head: bytes) -> bool:
        suffix = path.suffix.lower()
        return suffix == ".nxml" or (suffix == ".xml" and bool(_SNIFF.search(head)))

    def read(self, path: Path) -> Iterator[ParsedDocument]:
        root = parse_xml(path, read_nonempty(path))
        _strip_namespaces(root)
        # A single article, or a <pmc-articleset> of them (what PMC efetch returns).
        articles = [root] if local_name(root) == "article" else list(root.iter("article"))
        if not articles:
            raise ParseFailure(
                f"{path}: no <article> element (the root is <{local_name(root)}>); this is not "
                "JATS XML. Export the article as JATS/NLM XML or convert it to Markdown"
            )
        docs = [parse_jats_article(path, article) for article in articles]
        yield from docs
