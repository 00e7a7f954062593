"""Loaders for public corpora in their published formats: PubMedQA, BioASQ, MedQuAD, NGC.

Each one reads a file exactly as the dataset ships it; nothing is converted beforehand.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lxml.html
from lxml import etree

from evident.errors import ParseFailure
from evident.ingest.readers.base import decode_utf8, infer_kind, join_sections
from evident.ingest.readers.pubmed import (
    element_text,
    infer_kind_from,
    local_name,
    parse_xml,
    pubmed_url,
    read_nonempty,
    section_label,
)
from evident.models import DocumentKind, DocumentMeta, ParsedDocument

_PUBMEDQA_HEAD = re.compile(rb'^\s*\{\s*"\d+"\s*:\s*\{\s*"QUESTION"')
_BIOASQ_HEAD = re.compile(rb'^\s*\{\s*"questions"\s*:')
_MEDQUAD_HEAD = re.compile(rb"<(Document|DiseaseFile|doc)[\s>]")
_MEDQUAD_ROOTS = ("Document", "DiseaseFile", "doc")
_MEDLINEPLUS_REMOVED = frozenset(("ADAM", "MPlusDrugs", "MPlusHerbsSupplements"))
_NGC_HEAD = re.compile(rb"<Version[\s>]")
_PUBMED_LINK = re.compile(r"(?:list_uids=|/pubmed/|pubmed\.ncbi\.nlm\.nih\.gov/)(\d{1,9})\b", re.I)
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_SENTENCE_END = re.compile(r"[.;][\"'”’)]?(?=\s)")
_EMPTY_VALUE = re.compile(r"^(none available|not applicable|not stated|none)\.?$", re.I)

# MeSH check tags and method headings: indexing facts, not conditions a document is about.
_NOT_CONDITIONS = frozenset(
    m.lower()
    for m in (
        "Humans", "Animals", "Male", "Female", "Adult", "Aged", "Aged, 80 and over",
        "Middle Aged", "Young Adult", "Adolescent", "Child", "Child, Preschool", "Infant",
        "Infant, Newborn", "Pregnancy", "Mice", "Rats", "Treatment Outcome", "Risk Factors",
        "Time Factors", "Surveys and Questionnaires", "Sensitivity and Specificity",
        "Prognosis", "Predictive Value of Tests", "Risk Assessment", "Prevalence", "Incidence",
        "Reproducibility of Results", "Severity of Illness Index", "Age Factors",
        "United States", "Logistic Models", "Multivariate Analysis", "Odds Ratio",
        "Chi-Square Distribution", "Survival Analysis", "Survival Rate",
        "Questionnaires", "Regression Analysis", "Statistics, Nonparametric", "Sex Factors",
    )
)  # fmt: skip


def _load_json(path: Path) -> Any:
    raw = decode_utf8(path, path.read_bytes())
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ParseFailure(
            f"{path}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}; "
            "download the file again and ingest again"
        ) from exc


def _conditions(mesh: list[str]) -> tuple[str, ...]:
    return tuple(
        m
        for m in mesh
        if m.lower() not in _NOT_CONDITIONS
        and not m.endswith(" Studies")
        and not m.endswith(" as Topic")
    )


class PubmedQaReader:
    """PubMedQA `ori_pqal.json`: one document per PMID (the abstract without its conclusion)."""

    name = "pubmedqa"
    suffixes = (".json",)
    priority = 20

    def accepts(self, path: Path, head: bytes) -> bool:
        return path.suffix.lower() in self.suffixes and bool(_PUBMEDQA_HEAD.match(head))

    def read(self, path: Path) -> Iterator[ParsedDocument]:
        data = _load_json(path)
        if not isinstance(data, dict) or not data:
            raise ParseFailure(
                f"{path}: expected PubMedQA's object of PMID -> record, found "
                f"{type(data).__name__}; use ori_pqal.json from the PubMedQA repository"
            )
        docs = [self._record(path, str(pmid), record) for pmid, record in data.items()]
        yield from docs

    def _record(self, path: Path, pmid: str, record: Any) -> ParsedDocument:
        def fail(problem: str) -> ParseFailure:
            return ParseFailure(
                f"{path}: PMID {pmid}: {problem}; the file is not PubMedQA's ori_pqal.json "
                "format. Download it again and ingest again"
            )

        if not isinstance(record, dict):
            raise fail(f"expected a record object, found {type(record).__name__}")
        question = record.get("QUESTION")
        contexts = record.get("CONTEXTS")
        labels = record.get("LABELS") or [""] * len(contexts or [])
        meshes = record.get("MESHES") or []
        if not isinstance(question, str) or not question.strip():
            raise fail('no "QUESTION" text')
        if not isinstance(contexts, list) or not all(isinstance(c, str) for c in contexts):
            raise fail('"CONTEXTS" is not a list of strings')
        if not isinstance(labels, list) or len(labels) != len(contexts):
            raise fail(f'"LABELS" has {len(labels)} entries for {len(contexts)} contexts')
        if not isinstance(meshes, list):
            raise fail('"MESHES" is not a list')
        text, sections = join_sections(
            [
                (section_label(str(label)) or "Abstract", c)
                for label, c in zip(labels, contexts, strict=True)
            ]
        )
        if not text:
            raise fail('"CONTEXTS" holds no text')
        year = str(record.get("YEAR") or "")
        mesh = [str(m) for m in meshes]
        # PubMedQA's questions are the articles' own titles (it collected question-titled
        # articles), so the question is the best title there is.
        title = " ".join(question.split())
        kind, inferred = infer_kind_from(title, mesh)
        return ParsedDocument(
            text=text,
            meta=DocumentMeta(
                title=title,
                kind=kind,
                year=int(year) if year.isdigit() else None,
                pmid=pmid,
                url=pubmed_url(pmid),
                conditions=_conditions(mesh),
                kind_inferred=inferred,
                extra={"dataset": "pubmedqa", "question": question, "mesh": mesh},
            ),
            sections=sections,
            format="pubmedqa",
        )


class BioasqReader:
    """BioASQ Task B golden JSON: one document per cited PMID, built from its gold snippets."""

    name = "bioasq"
    suffixes = (".json",)
    priority = 20

    def accepts(self, path: Path, head: bytes) -> bool:
        return path.suffix.lower() in self.suffixes and bool(_BIOASQ_HEAD.match(head))

    def read(self, path: Path) -> Iterator[ParsedDocument]:
        data = _load_json(path)
        questions = data.get("questions") if isinstance(data, dict) else None
        if not isinstance(questions, list):
            raise ParseFailure(
                f'{path}: expected a BioASQ object {{"questions": [...]}}; this JSON has another '
                "shape. Use a *_golden.json file from BioASQ Task B"
            )
        # pmid -> [(section, offset, text)], in order of first appearance.
        snippets: dict[str, list[tuple[str, int, str]]] = {}
        cited_by: dict[str, list[str]] = {}
        for number, question in enumerate(questions, start=1):
            for snippet in self._snippets(path, number, question):
                pmid, section, offset, text = snippet
                found = snippets.setdefault(pmid, [])
                if all(t != text for _, _, t in found):
                    found.append((section, offset, text))
                ids = cited_by.setdefault(pmid, [])
                qid = str(question.get("id") or number)
                if qid not in ids:
                    ids.append(qid)
        if not snippets:
            raise ParseFailure(f"{path}: the BioASQ file has no snippets; nothing to ingest")
        docs = [self._document(pmid, found, cited_by[pmid]) for pmid, found in snippets.items()]
        yield from docs

    @staticmethod
    def _snippets(path: Path, number: int, question: Any) -> Iterator[tuple[str, str, int, str]]:
        def fail(problem: str) -> ParseFailure:
            return ParseFailure(
                f"{path}: question {number}: {problem}; the file is not in BioASQ golden format"
            )

        if not isinstance(question, dict):
            raise fail(f"expected an object, found {type(question).__name__}")
        items = question.get("snippets") or []
        if not isinstance(items, list):
            raise fail('"snippets" is not a list')
        for item in items:
            if not isinstance(item, dict):
                raise fail("a snippet is not an object")
            text, url = item.get("text"), item.get("document")
            if not isinstance(text, str) or not isinstance(url, str):
                raise fail('a snippet lacks "text" or "document"')
            match = _PUBMED_LINK.search(url)
            if not match:
                raise fail(f"snippet document {url!r} is not a PubMed URL")
            text = " ".join(text.split())
            if not text:
                continue
            offset = item.get("offsetInBeginSection")
            section = str(item.get("beginSection") or "abstract")
            yield match.group(1), section, offset if isinstance(offset, int) else 0, text

    @staticmethod
    def _document(
        pmid: str, found: list[tuple[str, int, str]], questions: list[str]
    ) -> ParsedDocument:
        # A snippet inside a longer one from the same section adds nothing.
        kept = [
            (section, offset, text)
            for section, offset, text in found
            if not any(s == section and text != t and text in t for s, _, t in found)
        ]
        kept.sort(key=lambda s: (s[0] != "title", s[1]))
        title = next((text for section, _, text in kept if section == "title"), "")
        parts = [(_bioasq_heading(section), text) for section, _, text in kept]
        text, sections = join_sections(parts)
        return ParsedDocument(
            text=text,
            meta=DocumentMeta(
                title=title or f"PubMed {pmid}",
                kind=infer_kind(title) if title else DocumentKind.UNKNOWN,
                pmid=pmid,
                url=pubmed_url(pmid),
                kind_inferred=True,
                extra={"dataset": "bioasq", "question_ids": questions},
            ),
            sections=sections,
            format="bioasq",
        )


def _bioasq_heading(section: str) -> str:
    if section.startswith("sections."):
        return "Full text"
    return section[:1].upper() + section[1:]


class MedquadReader:
    """MedQuAD XML: one document per file, a section per answered question."""

    name = "medquad"
    suffixes = (".xml",)
    priority = 20

    def accepts(self, path: Path, head: bytes) -> bool:
        return (
            path.suffix.lower() in self.suffixes
            and bool(_MEDQUAD_HEAD.search(head))
            and any(
                tag in head for tag in (b"<Focus", b"<QAPairs", b"<doctitle-focus", b"<qaPairs")
            )
        )

    def read(self, path: Path) -> Iterator[ParsedDocument]:
        root = parse_xml(path, read_nonempty(path))
        # Most files are <Document>; one CDC file is <DiseaseFile> and four NINDS files keep
        # an older lower-case schema (<doc>, <qaPairs>, <pair>, <question>, <answer>).
        legacy = local_name(root) == "doc"
        if (
            local_name(root) not in _MEDQUAD_ROOTS
            or root.find("qaPairs" if legacy else "QAPairs") is None
        ):
            raise ParseFailure(
                f"{path}: not a MedQuAD document (root <{local_name(root)}> without <QAPairs>); "
                "use the XML files from the MedQuAD repository"
            )
        focus = element_text(root.find("doctitle-focus" if legacy else "Focus"))
        pairs = root.findall("qaPairs/pair" if legacy else "QAPairs/QAPair")
        parts: list[tuple[str, str]] = []
        seen: set[str] = set()
        qtypes: list[str] = []
        for pair in pairs:
            question_el = pair.find("question" if legacy else "Question")
            answer_el = pair.find("answer" if legacy else "Answer")
            answer = "".join(answer_el.itertext()).strip() if answer_el is not None else ""
            key = " ".join(answer.split())
            if not key or key in seen:
                continue  # empty, or the same answer under a reworded question
            seen.add(key)
            parts.append((element_text(question_el), answer))
            qtype = question_el.get("qtype") if question_el is not None else None
            if qtype and qtype not in qtypes:
                qtypes.append(qtype)
        if not pairs:
            raise ParseFailure(
                f"{path}: the MedQuAD document has no question-answer pairs; nothing to ingest"
            )
        source = root.get("source") or root.get("corpus") or ""
        if not parts and source in _MEDLINEPLUS_REMOVED:
            raise ParseFailure(
                f"{path}: no answer text in its {len(pairs)} question(s) (MedQuAD removed the "
                "MedlinePlus answers for copyright, leaving only the questions); skip the "
                "10_MPlus_ADAM_QA, 11_MPlusDrugs_QA and 12_MPlusHerbsSupplements_QA folders"
            )
        if not parts:
            raise ParseFailure(
                f"{path}: no answer text in its {len(pairs)} question(s); nothing to ingest"
            )
        text, sections = join_sections(parts)
        synonyms = [element_text(s) for s in root.iter("Synonym")]
        cuis = [element_text(c) for c in root.iter("CUI", "cui")]
        conditions = tuple(dict.fromkeys(c for c in [focus, *synonyms] if c))
        yield ParsedDocument(
            text=text,
            meta=DocumentMeta(
                title=focus or parts[0][0],
                kind=DocumentKind.PATIENT_INFORMATION,
                source=source,
                url=root.get("url") or None,
                licence="CC BY 4.0",
                conditions=conditions,
                extra={
                    "dataset": "medquad",
                    "medquad_id": root.get("id") or root.get("fid") or root.get("docid") or "",
                    "qtypes": qtypes,
                    "umls_cuis": [c for c in cuis if c],
                },
            ),
            sections=sections,
            format="medquad",
        )


# NGC fields worth keeping as text, in reading order (recommendations first).
_NGC_SECTIONS = (
    "Major Recommendations",
    "FDA Warning/Regulatory Alert",
    "Clinical Algorithm(s)",
    "Disease/Condition(s)",
    "Other Disease/Condition(s) Addressed",
    "Guideline Objective(s)",
    "Target Population",
    "Interventions and Practices Considered",
    "Major Outcomes Considered",
    "Type of Evidence Supporting the Recommendations",
    "Potential Benefits",
    "Potential Harms",
    "Contraindications",
    "Qualifying Statements",
    "Rating Scheme for the Strength of the Evidence",
    "Rating Scheme for the Strength of the Recommendations",
)
_HEADING_TAGS = frozenset(("h1", "h2", "h3", "h4", "h5", "h6"))
_BLOCK_TAGS = _HEADING_TAGS | {
    "p", "div", "ul", "ol", "li", "table", "thead", "tbody", "tfoot", "tr", "caption",
    "blockquote", "dl", "dt", "dd", "pre", "section",
}  # fmt: skip
_INLINE_EMPHASIS = frozenset(("strong", "b", "span", "u", "em", "i"))


def _bold_line(el: Any) -> bool:
    """True for a short paragraph that is nothing but bold text: a heading in NGC markup."""
    if el.tag not in ("p", "div") or (el.text or "").strip():
        return False
    children = [c for c in el if isinstance(c.tag, str)]
    if not children or any((c.tail or "").strip() for c in children):
        return False
    if any(c.tag not in _INLINE_EMPHASIS for c in el.iterdescendants() if isinstance(c.tag, str)):
        return False
    if not any(c.tag in ("strong", "b") for c in children):
        return False
    text = " ".join(el.text_content().split())
    # A bold sentence is usually a recommendation, which must stay in the passage text.
    return 0 < len(text) <= 120 and not text.endswith((".", ";", ","))


def html_lines(markup: str) -> list[tuple[bool, str]]:
    """Turn an HTML fragment into (is_heading, line) pairs: blocks and list items per line."""
    if not markup.strip():
        return []
    try:
        root = lxml.html.fragment_fromstring(markup, create_parent="div")
    except (etree.ParserError, ValueError):
        return [(False, " ".join(markup.split()))]
    lines: list[tuple[bool, str]] = []
    buffer: list[str] = []

    def flush(heading: bool = False) -> None:
        text = " ".join("".join(buffer).split())
        buffer.clear()
        if text and text not in ("-", "|"):
            lines.append((heading, text))

    def walk(el: Any) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in ("script", "style") or not tag:
            return
        if tag == "br":
            flush()
            return
        if tag in _HEADING_TAGS or _bold_line(el):
            flush()
            buffer.append(el.text_content())
            flush(heading=True)
            return
        block = tag in _BLOCK_TAGS
        if block:
            flush()
        if tag == "li":
            buffer.append("- ")
        elif tag in ("td", "th") and el.getprevious() is not None:
            buffer.append(" | ")
        buffer.append(el.text or "")
        for child in el:
            walk(child)
            buffer.append(child.tail or "")
        if block:
            flush()

    walk(root)
    flush()
    return lines


def _field_parts(name: str, lines: list[tuple[bool, str]]) -> list[tuple[str, str]]:
    parts: list[tuple[str, str]] = []
    heading = name
    body: list[str] = []
    for is_heading, line in lines:
        if is_heading:
            parts.append((heading, "\n".join(body)))
            heading, body = f"{name} > {line}", []
        else:
            body.append(line)
    parts.append((heading, "\n".join(body)))
    return parts


def _short(text: str, limit: int = 200) -> str:
    """Return text, or its first sentence, or its first words, within limit characters."""
    if len(text) <= limit:
        return text
    for match in _SENTENCE_END.finditer(text, 0, limit + 1):
        word = text[: match.start()].rsplit(" ", 1)[-1]
        if len(word) >= 4 and "." not in word:  # not "U.S." or "Dr."
            return text[: match.end()]
    return text[:limit].rsplit(" ", 1)[0] + "…"


class NgcReader:
    """National Guideline Clearinghouse summary XML: one guideline per file."""

    name = "ngc"
    suffixes = (".xml",)
    priority = 20

    def accepts(self, path: Path, head: bytes) -> bool:
        return (
            path.suffix.lower() in self.suffixes
            and bool(_NGC_HEAD.search(head))
            and (b"<Section" in head or b"Guideline Clearinghouse" in head)
        )

    def read(self, path: Path) -> Iterator[ParsedDocument]:
        root = parse_xml(path, read_nonempty(path))
        fields: dict[str, list[tuple[bool, str]]] = {}
        raw: dict[str, str] = {}
        for field in root.iter("Field"):
            name = field.get("Name") or ""
            if not name or name in fields:
                continue  # some fields repeat (Bibliographic Source(s)); the first is kept
            values = [v.get("Value") or "" for v in field.iterfind("FieldValue")]
            raw[name] = "\n".join(values)
            fields[name] = [line for value in values for line in html_lines(value)]
        if local_name(root) != "Version" or not fields:
            raise ParseFailure(
                f"{path}: not a National Guideline Clearinghouse summary (root "
                f"<{local_name(root)}> without <Field> elements); use the ngc-*.xml summaries"
            )

        def plain(name: str) -> str:
            return " ".join(line for _, line in fields.get(name, []))

        title = plain("Guideline Title").rstrip(".")
        if not title:
            raise ParseFailure(f'{path}: the summary has no "Guideline Title"; it is incomplete')
        parts: list[tuple[str, str]] = []
        for name in _NGC_SECTIONS:
            lines = fields.get(name, [])
            if lines and not _EMPTY_VALUE.match(" ".join(line for _, line in lines)):
                parts.extend(_field_parts(name, lines))
        text, sections = join_sections(parts)
        if not any(s.heading.startswith("Major Recommendations") for s in sections):
            raise ParseFailure(
                f'{path}: the summary has no "Major Recommendations" text (NGC archive stubs '
                "are empty); use a full summary file"
            )
        developers = [line.lstrip("- ") for _, line in fields.get("Guideline Developer(s)", [])]
        released = plain("Date Released")
        years = [int(y) for y in _YEAR.findall(released)]
        pmid_match = _PUBMED_LINK.search(raw.get("Bibliographic Source(s)", ""))
        pmid = pmid_match.group(1) if pmid_match else None
        copyright_statement = plain("Copyright Statement")
        extra: dict[str, object] = {
            "dataset": "ngc",
            "ngc_id": path.stem,
            "status": plain("Guideline Status"),
            "date_released": released,
            "citation": plain("Bibliographic Source(s)").removesuffix(" PubMed"),
            "copyright_statement": copyright_statement,
            "categories": [line for _, line in fields.get("Guideline Category", [])],
            "specialties": [line for _, line in fields.get("Clinical Specialty", [])],
        }
        yield ParsedDocument(
            text=text,
            meta=DocumentMeta(
                title=title,
                kind=DocumentKind.GUIDELINE,
                source="; ".join(d.rsplit(" - ", 1)[0] for d in developers),
                year=max(years) if years else None,  # "1996 (revised 2013 Mar 19)" is 2013's
                pmid=pmid,
                url=pubmed_url(pmid)
                if pmid
                else _first_link(raw.get("Guideline Availability", "")),
                licence=_licence(copyright_statement),
                grade=_grade(fields),
                conditions=_ngc_conditions(fields.get("Disease/Condition(s)", [])),
                extra=extra,
            ),
            sections=sections,
            format="ngc",
        )


def _first_link(markup: str) -> str | None:
    match = re.search(r"""href=["'](https?://[^"']+)""", markup)
    return match.group(1) if match else None


def _licence(statement: str) -> str | None:
    lowered = statement.lower()
    if "no copyright restriction" in lowered:
        return "No copyright restrictions"
    if "public domain" in lowered:
        return "Public domain"
    return _short(statement) or None


def _grade(fields: dict[str, list[tuple[bool, str]]]) -> str | None:
    """Name the rating scheme the guideline grades with (its first line, shortened)."""
    for name in (
        "Rating Scheme for the Strength of the Recommendations",
        "Rating Scheme for the Strength of the Evidence",
    ):
        lines = [line for _, line in fields.get(name, [])]
        if not lines or _EMPTY_VALUE.match(lines[0]) or lines[0].lower().startswith("see "):
            continue
        return _short(lines[0])
    return None


def _ngc_conditions(lines: list[tuple[bool, str]]) -> tuple[str, ...]:
    found = []
    for _, line in lines:
        line = line.removeprefix("- ").strip().rstrip(":").removesuffix(", including").strip()
        if (
            line
            and len(line) <= 200
            and not _EMPTY_VALUE.match(line)
            and not line.startswith("Note")
        ):
            found.append(line)
    return tuple(dict.fromkeys(found))[:20]
