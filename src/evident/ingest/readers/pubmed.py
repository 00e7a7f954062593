"""PubMed/MEDLINE XML (efetch or baseline `PubmedArticleSet`): one document per article.

Also home to the safe-XML helpers the other XML readers share (jats, datasets): they live
here rather than in base.py so that base.py stays untouched by this reader family.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from lxml import etree

from evident.errors import ParseFailure
from evident.ingest.readers.base import infer_kind, join_sections
from evident.models import DocumentKind, DocumentMeta, ParsedDocument

# No entity expansion, no network, no DTD loading: the defusedxml-safe lxml settings.
_SAFE = {"resolve_entities": False, "no_network": True, "load_dtd": False, "huge_tree": False}
_LINE_COLUMN = re.compile(r",? line \d+, column \d+$")
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")

# Strongest first: an article typed both "Review" and "Meta-Analysis" is a systematic review.
_PUBLICATION_TYPE_KINDS: list[tuple[DocumentKind, frozenset[str]]] = [
    (DocumentKind.GUIDELINE, frozenset({"practice guideline", "guideline"})),
    (DocumentKind.SYSTEMATIC_REVIEW, frozenset({"systematic review", "meta-analysis"})),
    (
        DocumentKind.RANDOMISED_TRIAL,
        frozenset({"randomized controlled trial", "randomized controlled trial, veterinary"}),
    ),
    (
        DocumentKind.OBSERVATIONAL,
        frozenset({"observational study", "observational study, veterinary", "twin study"}),
    ),
    (DocumentKind.CASE_REPORT, frozenset({"case reports"})),
    (DocumentKind.NARRATIVE_REVIEW, frozenset({"review"})),
]
# MeSH study-design headings indexers give to the article itself. "Prospective Studies" and
# "Follow-Up Studies" are left out because NLM also assigns them to trials.
_OBSERVATIONAL_MESH = frozenset(
    {
        "cohort studies",
        "case-control studies",
        "cross-sectional studies",
        "retrospective studies",
        "longitudinal studies",
    }
)


def xml_parser() -> etree.XMLParser:
    """Return an lxml parser that never expands entities, loads DTDs or uses the network."""
    return etree.XMLParser(**_SAFE)


def xml_error(path: Path, exc: etree.XMLSyntaxError) -> ParseFailure:
    """Turn an lxml syntax error into a one-line ParseFailure with the line number."""
    msg = _LINE_COLUMN.sub("", str(exc.msg or exc)).strip()
    if "encoding" in msg.lower() or "utf-8" in msg.lower():
        return ParseFailure(
            f"{path}: the XML is not in its declared encoding (UTF-8 unless its <?xml?> line "
            f"says otherwise) at line {exc.lineno}: {msg}; convert it, e.g. "
            f"`iconv -f latin1 -t utf-8 {path.name}`, and ingest again"
        )
    return ParseFailure(
        f"{path}: malformed XML at line {exc.lineno}: {msg}; "
        "fix the file (or download it again) and ingest again"
    )


def read_nonempty(path: Path) -> bytes:
    """Return a file's bytes, failing clearly when there is nothing in it."""
    data = path.read_bytes()
    if not data.strip():
        raise ParseFailure(f"{path}: the file is empty; nothing to ingest")
    return data


def parse_xml(path: Path, data: bytes) -> etree._Element:
    """Parse a whole XML document safely; malformed input becomes ParseFailure."""
    try:
        return etree.fromstring(data, xml_parser())
    except etree.XMLSyntaxError as exc:
        raise xml_error(path, exc) from exc


def local_name(el: etree._Element) -> str:
    """Return an element's tag without its namespace ('' for comments and the like)."""
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def element_text(el: etree._Element | None, skip: Iterable[str] = ()) -> str:
    """Return the text inside an element, leaving out subtrees whose local name is in skip.

    Unexpanded entity references (`&nbsp;`) become their HTML meaning when they have one;
    unknown ones stay as written. Nothing is ever expanded from a DTD.
    """
    if el is None:
        return ""
    skipped = frozenset(skip)
    parts: list[str] = []

    def walk(node: etree._Element) -> None:
        if node.text and isinstance(node.tag, str):
            parts.append(node.text)
        for child in node:
            if isinstance(child, etree._Entity):
                parts.append(html.unescape(child.text or ""))
            elif isinstance(child.tag, str) and local_name(child) not in skipped:
                walk(child)
            if child.tail:
                parts.append(child.tail)

    walk(el)
    return " ".join("".join(parts).split())


def section_label(label: str) -> str:
    """Render a structured-abstract label as a heading ("BACKGROUND" -> "Background")."""
    label = " ".join(label.split()).rstrip(":")
    return label[:1] + label[1:].lower() if label.isupper() else label


def kind_from_publication_types(types: Iterable[str]) -> DocumentKind | None:
    """Return the kind a list of PubMed publication types states, strongest first."""
    lowered = {t.strip().lower() for t in types}
    for kind, names in _PUBLICATION_TYPE_KINDS:
        if lowered & names:
            return kind
    return None


def infer_kind_from(title: str, mesh: Iterable[str]) -> tuple[DocumentKind, bool]:
    """Guess a kind from the title, then from MeSH study-design headings (always inferred)."""
    kind = infer_kind(title)
    if kind is DocumentKind.UNKNOWN and {m.lower() for m in mesh} & _OBSERVATIONAL_MESH:
        kind = DocumentKind.OBSERVATIONAL
    return kind, True


def first_year(text: str | None) -> int | None:
    """Return the first plausible four-digit year in a date string ("1998 Dec-1999 Jan")."""
    match = _YEAR.search(text or "")
    return int(match.group(1)) if match else None


def pubmed_url(pmid: str) -> str:
    return f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/"


def _text(el: etree._Element | None, path: str) -> str:
    return element_text(el.find(path)) if el is not None else ""


def _year(article: etree._Element) -> int | None:
    for date in (
        article.find(".//JournalIssue/PubDate"),
        article.find(".//Book/PubDate"),
        article.find(".//ArticleDate"),
    ):
        if date is None:
            continue
        year = first_year(_text(date, "Year") or _text(date, "MedlineDate"))
        if year:
            return year
    return None


def _authors(article: etree._Element) -> tuple[str, ...]:
    authors: list[str] = []
    author_list = article.find(".//AuthorList")
    if author_list is None:
        return ()
    for author in author_list.findall("Author"):
        collective = _text(author, "CollectiveName")
        last = _text(author, "LastName")
        if last:
            initials = _text(author, "Initials")
            authors.append(f"{last} {initials}".strip())
        elif collective:
            authors.append(collective)
    return tuple(authors)


def _doi(article: etree._Element) -> str | None:
    # ./*/ keeps to the record's own ids (PubmedData), not those of its cited references.
    for el in article.iterfind("./*/ArticleIdList/ArticleId"):
        if el.get("IdType") == "doi" and element_text(el):
            return element_text(el)
    for el in article.iterfind(".//ELocationID"):
        if el.get("EIdType") == "doi" and element_text(el):
            return element_text(el)
    return None


def _mesh(article: etree._Element) -> tuple[list[str], list[str]]:
    every: list[str] = []
    major: list[str] = []
    for heading in article.iterfind(".//MeshHeadingList/MeshHeading"):
        name = _text(heading, "DescriptorName")
        if not name:
            continue
        every.append(name)
        flags = [heading.find("DescriptorName"), *heading.findall("QualifierName")]
        if any(f is not None and f.get("MajorTopicYN") == "Y" for f in flags):
            major.append(name)
    return every, major


def _abstract(article: etree._Element) -> list[tuple[str, str]]:
    abstract = article.find(".//Abstract")
    if abstract is None:
        return []
    parts: list[tuple[str, str]] = []
    for el in abstract.findall("AbstractText"):
        label = el.get("Label") or ""
        parts.append((section_label(label) if label else "Abstract", element_text(el)))
    return parts


def parse_pubmed_article(path: Path, article: etree._Element) -> ParsedDocument:
    """Build a document from one <PubmedArticle> or <PubmedBookArticle> element."""
    pmid = _text(article, "./*/PMID")
    title = _text(article, ".//ArticleTitle") or _text(article, ".//BookTitle")
    title = title.strip()
    if title.startswith("[") and title.endswith("]."):
        title = title[1:-2]  # MEDLINE brackets titles translated into English
    elif title.endswith(".") and not title.endswith(".."):
        title = title[:-1]  # MEDLINE ends every title with a full stop
    if not title:
        where = f"PMID {pmid}" if pmid else "an article"
        raise ParseFailure(f"{path}: {where} has no ArticleTitle; the export is incomplete")
    parts = _abstract(article)
    no_abstract = not any(body.strip() for _, body in parts)
    if no_abstract:
        # Many records have no abstract; the title is all there is to cite, so keep it.
        parts = [("Title", title)]
    text, sections = join_sections(parts)
    types = [element_text(t) for t in article.iterfind(".//PublicationTypeList/PublicationType")]
    every_mesh, major_mesh = _mesh(article)
    stated = kind_from_publication_types(types)
    kind, inferred = (stated, False) if stated else infer_kind_from(title, every_mesh)
    journal = _text(article, ".//Journal/Title") or _text(
        article, ".//Book/Publisher/PublisherName"
    )
    extra: dict[str, object] = {"publication_types": types, "mesh": every_mesh}
    if no_abstract:
        extra["no_abstract"] = True
    meta = DocumentMeta(
        title=title,
        kind=kind,
        source=journal,
        year=_year(article),
        authors=_authors(article),
        pmid=pmid or None,
        doi=_doi(article),
        url=pubmed_url(pmid) if pmid else None,
        conditions=tuple(major_mesh),
        kind_inferred=inferred,
        extra=extra,
    )
    return ParsedDocument(text=text, meta=meta, sections=sections, format="pubmed")


class PubmedXmlReader:
    name = "pubmed"
    suffixes = (".xml",)
    priority = 20

    def accepts(self, path: Path, head: bytes) -> bool:
        return path.suffix.lower() in self.suffixes and (
            b"<PubmedArticleSet" in head or b"<PubmedArticle" in head
        )

    def read(self, path: Path) -> Iterator[ParsedDocument]:
        data = read_nonempty(path)
        docs: list[ParsedDocument] = []
        # Stream so baseline files (30,000 articles) never sit in memory as one tree, but
        # collect before yielding: a syntax error late in the file fails the whole file.
        events = etree.iterparse(
            io.BytesIO(data), events=("end",), tag=("PubmedArticle", "PubmedBookArticle"), **_SAFE
        )
        try:
            for _, article in events:
                docs.append(parse_pubmed_article(path, article))
                article.clear(keep_tail=True)
                parent = article.getparent()
                while parent is not None and article.getprevious() is not None:
                    del parent[0]
        except etree.XMLSyntaxError as exc:
            raise xml_error(path, exc) from exc
        if not docs:
            raise ParseFailure(
                f"{path}: no <PubmedArticle> records in the file; export the records from "
                "PubMed as XML (Send to > File > XML, or efetch with retmode=xml) and ingest again"
            )
        yield from docs
