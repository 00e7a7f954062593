"""Readers: routing, metadata, offsets and every bad-input message."""

from __future__ import annotations

import io
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader as PypdfReader
from pypdf import PdfWriter

from evident.errors import ParseFailure, UnsupportedFormat
from evident.ingest.chunk import chunk_document
from evident.ingest.readers import all_readers, reader_for
from evident.ingest.readers.base import unwrap_lines
from evident.ingest.readers.datasets import (
    BioasqReader,
    MedquadReader,
    NgcReader,
    PubmedQaReader,
)
from evident.ingest.readers.html import HtmlReader
from evident.ingest.readers.jats import JatsXmlReader
from evident.ingest.readers.jsonl import JsonlReader
from evident.ingest.readers.markdown import MarkdownReader
from evident.ingest.readers.pdf import PdfReader
from evident.ingest.readers.pubmed import PubmedXmlReader
from evident.ingest.readers.text import TextReader
from evident.models import DocumentKind, ParsedDocument

DATA = Path(__file__).parents[1] / "data" / "readers"
SHARED = Path(
    os.environ.get("EVIDENT_SHARED_DATA") or Path(__file__).parents[2].parent / "shared" / "data"
)
needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(),
    reason=f"shared data not found at {SHARED} (set EVIDENT_SHARED_DATA to its location)",
)


def route(path: Path) -> str:
    with path.open("rb") as fh:
        return reader_for(path, fh.read(4096)).name


def read(path: Path) -> list[ParsedDocument]:
    with path.open("rb") as fh:
        reader = reader_for(path, fh.read(4096))
    docs = list(reader.read(path))
    for doc in docs:
        assert_offsets(doc)
    return docs


def assert_offsets(doc: ParsedDocument) -> None:
    """Every section lies inside the text, holds body text and follows its heading line."""
    assert doc.text and doc.sections
    previous_end = 0
    for section in doc.sections:
        assert previous_end <= section.start < section.end <= len(doc.text)
        body = doc.text[section.start : section.end]
        assert body == body.strip()
        if section.heading:
            assert doc.text[: section.start].endswith(section.heading + "\n")
        previous_end = section.end


def headings(doc: ParsedDocument) -> list[str]:
    return [s.heading for s in doc.sections]


def section_text(doc: ParsedDocument, heading: str) -> str:
    return "\n".join(doc.text[s.start : s.end] for s in doc.sections if s.heading == heading)


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


# --- PDFs are built here rather than stored: a tiny valid file with a real xref table.


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(pages: list[list[str]], info: dict[str, str] | None = None) -> bytes:
    """Return a PDF with one Helvetica text line per string (no text at all if a page is [])."""
    objects: dict[int, str] = {}
    kids: list[int] = []
    next_id = 4
    for lines in pages:
        page_id, content_id = next_id, next_id + 1
        next_id += 2
        kids.append(page_id)
        if lines:
            shown = " ".join(f"({_escape(line)}) Tj T*" for line in lines)
            stream = f"BT /F1 11 Tf 14 TL 72 720 Td {shown} ET"
        else:
            stream = "72 72 m 300 300 l S"  # a drawn line, as a scan's page has no text either
        objects[content_id] = f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream"
        objects[page_id] = (
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {content_id} 0 R >>"
        )
    objects[1] = "<< /Type /Catalog /Pages 2 0 R >>"
    objects[2] = (
        f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {len(kids)} >>"
    )
    objects[3] = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    info_ref = ""
    if info:
        entries = " ".join(f"/{key} ({_escape(value)})" for key, value in info.items())
        objects[next_id] = f"<< {entries} >>"
        info_ref = f" /Info {next_id} 0 R"
        next_id += 1
    out = b"%PDF-1.4\n"
    offsets: dict[int, int] = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += f"{number} 0 obj\n{objects[number]}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {next_id}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offsets[n]:010d} 00000 n \n".encode() for n in range(1, next_id))
    trailer = f"trailer\n<< /Size {next_id} /Root 1 0 R{info_ref} >>\nstartxref\n{xref}\n%%EOF\n"
    return out + trailer.encode()


GUIDELINE_PAGES = [
    [
        "Hypertension in adults: a practice guideline",
        "",
        "Adults with stage 1 hypertension and target organ damage should be offered",
        "antihypertensive drug treatment in addition to lifestyle advice, and the",
        "treatment should be reviewed at least once a year by the practice team",
        "in primary care.",
        "Measure blood pressure in both arms.",
    ],
    [
        "Methods",
        "We searched two databases for random-",
        "ised trials published from 2000 to 2020.",
    ],
]


def rewrite_pdf(data: bytes, edit: object) -> bytes:
    writer = PdfWriter(clone_from=PypdfReader(io.BytesIO(data)))
    edit(writer)  # type: ignore[operator]
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


@pytest.fixture
def guideline_pdf(tmp_path: Path) -> Path:
    info = {"Title": "Microsoft Word - draft3.docx", "Author": "Example Group; Sample Unit"}
    return write(tmp_path, "guideline.pdf", make_pdf(GUIDELINE_PAGES, info))


# --- Routing: how a user's file finds its reader.


def test_every_built_in_reader_loads() -> None:
    # The registry skips a backend that fails to import, so a broken reader would vanish.
    names = {r.name for r in all_readers()}
    assert names >= {
        "markdown", "text", "html", "pdf", "pubmed", "jats", "jsonl",
        "pubmedqa", "bioasq", "medquad", "ngc",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("name", "reader"),
    [
        ("pubmed_set.xml", "pubmed"),
        ("jats_article.xml", "jats"),
        ("medquad_gard.xml", "medquad"),
        ("medquad_mplus_empty.xml", "medquad"),
        ("ngc_summary.xml", "ngc"),
        ("pubmedqa_sample.json", "pubmedqa"),
        ("bioasq_sample.json", "bioasq"),
        ("records.jsonl", "jsonl"),
        ("page.html", "html"),
    ],
)
def test_reader_for_routes_each_fixture(name: str, reader: str) -> None:
    assert route(DATA / name) == reader


def test_reader_for_routes_nxml_htm_and_pdf(tmp_path: Path, guideline_pdf: Path) -> None:
    nxml = shutil.copy(DATA / "jats_article.xml", tmp_path / "article.nxml")
    htm = shutil.copy(DATA / "page.html", tmp_path / "page.htm")
    assert route(Path(nxml)) == "jats"
    assert route(Path(htm)) == "html"
    assert route(guideline_pdf) == "pdf"


def test_reader_for_does_not_guess_an_unrecognised_xml_file(tmp_path: Path) -> None:
    path = write(tmp_path, "other.xml", "<catalogue><item>tea</item></catalogue>\n")
    with pytest.raises(UnsupportedFormat, match=r"no reader for '\.xml' files"):
        route(path)


# --- PubMed XML


def test_pubmed_reads_every_article_with_its_metadata() -> None:
    trial, review, cohort = read(DATA / "pubmed_set.xml")

    assert (
        trial.meta.title == "Low-dose aspirin versus placebo after minor stroke: a randomised trial"
    )
    assert trial.meta.kind is DocumentKind.RANDOMISED_TRIAL and not trial.meta.kind_inferred
    assert trial.meta.source == "Journal of Synthetic Cardiology"
    assert trial.meta.year == 2019  # from MedlineDate "2019 Dec-2020 Jan"
    assert trial.meta.authors == ("Example AB", "Sample C", "Synthetic Stroke Trialists")
    assert trial.meta.pmid == "90000001"  # not the CommentsCorrections PMID
    assert trial.meta.doi == "10.9999/jsc.2019.001"  # not the cited reference's DOI
    assert trial.meta.url == "https://pubmed.ncbi.nlm.nih.gov/90000001/"
    assert trial.meta.conditions == ("Aspirin", "Stroke")  # major topics only
    assert headings(trial) == ["Background", "Methods", "Results"]
    assert section_text(trial, "Methods") == (
        "We randomly assigned 400 adults to aspirin 75 mg or placebo."
    )

    assert review.meta.kind is DocumentKind.SYSTEMATIC_REVIEW  # Meta-Analysis beats Review
    assert review.meta.doi == "10.9999/srm.2021.7"  # from ELocationID
    assert review.meta.year == 2021
    assert headings(review) == ["Abstract"]

    # No abstract: the title is kept as the text; kind comes from MeSH design, marked inferred.
    assert cohort.meta.title == "Blood pressure in older adults in a fictional town"
    assert cohort.text.endswith("Blood pressure in older adults in a fictional town")
    assert cohort.meta.extra["no_abstract"] is True
    assert cohort.meta.kind is DocumentKind.OBSERVATIONAL and cohort.meta.kind_inferred


def test_pubmed_malformed_xml_names_the_line_and_yields_nothing(tmp_path: Path) -> None:
    good = (DATA / "pubmed_set.xml").read_text(encoding="utf-8")
    broken = good.replace("</MedlineCitation>", "</MedlineCitatio>", 3)
    path = write(tmp_path, "set.xml", broken)
    line = broken[: broken.index("</MedlineCitatio>")].count("\n") + 1
    documents = PubmedXmlReader().read(path)
    with pytest.raises(ParseFailure) as caught:
        next(documents)  # fails before the first article is handed over
    assert str(caught.value).startswith(f"{path}: malformed XML at line {line}: ")
    assert str(caught.value).endswith("fix the file (or download it again) and ingest again")


def test_pubmed_set_without_articles(tmp_path: Path) -> None:
    path = write(tmp_path, "empty-set.xml", "<PubmedArticleSet></PubmedArticleSet>\n")
    with pytest.raises(ParseFailure, match=r"no <PubmedArticle> records in the file; export"):
        list(PubmedXmlReader().read(path))


def test_pubmed_not_utf8(tmp_path: Path) -> None:
    data = (DATA / "pubmed_set.xml").read_bytes().replace(b"minor stroke", b"minor str\xf6ke")
    path = write(tmp_path, "latin.xml", data)
    with pytest.raises(ParseFailure) as caught:
        list(PubmedXmlReader().read(path))
    assert str(caught.value) == (
        f"{path}: the XML is not in its declared encoding (UTF-8 unless its <?xml?> line says "
        "otherwise) at line 15: Invalid bytes in character encoding; convert it, e.g. "
        "`iconv -f latin1 -t utf-8 latin.xml`, and ingest again"
    )


def test_pubmed_does_not_expand_entities(tmp_path: Path) -> None:
    xml = (
        '<!DOCTYPE PubmedArticleSet [<!ENTITY boom "EXPANDED">]>\n'
        "<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID><Article>"
        "<ArticleTitle>Title &boom;</ArticleTitle><Abstract><AbstractText>Body text here."
        "</AbstractText></Abstract></Article></MedlineCitation></PubmedArticle></PubmedArticleSet>"
    )
    (doc,) = PubmedXmlReader().read(write(tmp_path, "entity.xml", xml))
    assert "EXPANDED" not in doc.meta.title


# --- JATS


def test_jats_reads_front_abstract_and_nested_body_sections() -> None:
    (doc,) = read(DATA / "jats_article.xml")
    meta = doc.meta
    assert meta.title == "Severe hyponatraemia after a marathon"  # footnote marker dropped
    assert meta.kind is DocumentKind.CASE_REPORT and not meta.kind_inferred
    assert meta.source == "Synthetic Case Reports"
    assert meta.year == 2022  # the epub date, not the collection year
    assert meta.authors == ("Fictive DQ", "Synthetic Sports Medicine Group")  # no editors
    assert (meta.pmid, meta.doi) == ("90000010", "10.9999/scr.2022.10")
    assert meta.url == "https://pmc.ncbi.nlm.nih.gov/articles/PMC1234567/"
    assert meta.licence == "CC BY 4.0"
    assert meta.extra["pmcid"] == "PMC1234567"
    assert headings(doc) == [
        "Abstract > Background",
        "Abstract > Case",
        "Introduction",
        "Introduction > Definitions",
        "Case presentation",
    ]
    assert "- Severe: below 125 mmol/L." in section_text(doc, "Introduction > Definitions")
    case = section_text(doc, "Case presentation")
    assert "Table 1 Laboratory values." in case and "Sodium | 121 mmol/L" in case
    assert "documentclass" not in doc.text
    assert "Graphical abstract" not in doc.text and "Reference text" not in doc.text


def test_jats_review_article_kind(tmp_path: Path) -> None:
    xml = (DATA / "jats_article.xml").read_text(encoding="utf-8")
    review = xml.replace('article-type="case-report"', 'article-type="review-article"')
    (doc,) = JatsXmlReader().read(write(tmp_path, "review.xml", review))
    assert doc.meta.kind is DocumentKind.NARRATIVE_REVIEW and not doc.meta.kind_inferred
    systematic = review.replace(
        "Severe hyponatraemia after a marathon", "Hyponatraemia in runners: a systematic review"
    )
    (doc,) = JatsXmlReader().read(write(tmp_path, "sr.xml", systematic))
    assert doc.meta.kind is DocumentKind.SYSTEMATIC_REVIEW and doc.meta.kind_inferred


def test_jats_articleset_yields_each_article(tmp_path: Path) -> None:
    article = (DATA / "jats_article.xml").read_text(encoding="utf-8").split("\n", 2)[2]
    second = article.replace("90000010", "90000011")
    path = write(tmp_path, "set.xml", f"<pmc-articleset>{article}{second}</pmc-articleset>")
    assert route(path) == "jats"
    assert [d.meta.pmid for d in read(path)] == ["90000010", "90000011"]


def test_jats_without_front_matter(tmp_path: Path) -> None:
    path = write(tmp_path, "bare.nxml", "<article><body><p>Text.</p></body></article>")
    with pytest.raises(
        ParseFailure, match=r"has no <front>/<article-meta>; this is not a complete"
    ):
        list(JatsXmlReader().read(path))


def test_jats_file_without_article(tmp_path: Path) -> None:
    path = write(tmp_path, "set.nxml", "<pmc-articleset></pmc-articleset>")
    with pytest.raises(
        ParseFailure,
        match=r"no <article> element \(the root is <pmc-articleset>\); this is not JATS",
    ):
        list(JatsXmlReader().read(path))


def test_jats_malformed(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.nxml", "<article>\n<front>\n</article>")
    with pytest.raises(ParseFailure, match=r"malformed XML at line 3: Opening and ending tag"):
        list(JatsXmlReader().read(path))


# --- HTML


def test_html_keeps_main_text_headings_and_page_metadata() -> None:
    (doc,) = read(DATA / "page.html")
    meta = doc.meta
    assert meta.title == "Hypertension in adults: diagnosis and management"
    assert meta.url == "https://example.org/guidance/hypertension"  # canonical link
    assert meta.year == 2019
    assert meta.doi == "10.9999/eh.2019.1"
    assert meta.authors == ("Example, Alice",)
    assert meta.source == "Example Health"
    assert meta.kind is DocumentKind.UNKNOWN and meta.kind_inferred
    assert headings(doc) == [
        "",
        "Diagnosing hypertension",
        "Diagnosing hypertension > Confirming the diagnosis",
        "Treating hypertension",
    ]
    assert "- Measure blood pressure in both arms." in section_text(doc, "Diagnosing hypertension")
    for boilerplate in ("Cookie", "About us", "Privacy policy", "should never appear"):
        assert boilerplate not in doc.text


def test_html_declared_charset_is_honoured(tmp_path: Path) -> None:
    page = (DATA / "page.html").read_text(encoding="utf-8")
    page = page.replace('charset="utf-8"', 'charset="windows-1252"').replace(
        "ambulatory average", "ambulatory average (café)"
    )
    (doc,) = HtmlReader().read(write(tmp_path, "cp1252.html", page.encode("cp1252")))
    assert "ambulatory average (café)" in doc.text


def test_html_not_utf8_without_declaration(tmp_path: Path) -> None:
    path = write(tmp_path, "latin.html", b"<html><body><p>caf\xe9 au lait</p></body></html>")
    with pytest.raises(ParseFailure, match=r"not UTF-8 text \(bad byte at offset 18\); convert it"):
        list(HtmlReader().read(path))


def test_html_with_only_navigation_has_no_main_text(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "menu.html",
        "<html><head><title>Menu</title></head><body><nav><ul><li><a href='/'>Home</a></li>"
        "<li><a href='/x'>About</a></li></ul></nav><script>var x = 1;</script></body></html>",
    )
    with pytest.raises(ParseFailure) as caught:
        list(HtmlReader().read(path))
    assert str(caught.value) == (
        f"{path}: no main text found in the page (it may be only navigation, or built by "
        "JavaScript); save the article's reader or print view, or convert it to Markdown, "
        "and ingest again"
    )


# --- PDF


def test_pdf_pages_become_sections_and_wrapped_lines_rejoin(guideline_pdf: Path) -> None:
    (doc,) = read(guideline_pdf)
    assert headings(doc) == ["Page 1", "Page 2"]
    # The metadata title is a word-processor leftover, so the first line is used instead.
    assert doc.meta.title == "Hypertension in adults: a practice guideline"
    assert doc.meta.kind is DocumentKind.GUIDELINE and doc.meta.kind_inferred
    assert doc.meta.authors == ("Example Group", "Sample Unit")
    assert doc.meta.extra == {"pages": 2}
    page1 = section_text(doc, "Page 1")
    assert (
        "should be offered antihypertensive drug treatment in addition to lifestyle advice, and "
        "the treatment should be reviewed at least once a year by the practice team in primary "
        "care.\nMeasure blood pressure in both arms."
    ) in page1
    assert "randomised trials published" in section_text(doc, "Page 2")


def test_pdf_metadata_title_and_outline(tmp_path: Path) -> None:
    data = make_pdf(GUIDELINE_PAGES, {"Title": "Synthetic hypertension guidance"})
    data = rewrite_pdf(data, lambda w: w.add_outline_item(title="Methods", page_number=1))
    (doc,) = read(write(tmp_path, "outlined.pdf", data))
    assert doc.meta.title == "Synthetic hypertension guidance"
    assert headings(doc) == ["Page 1", "Page 2 — Methods"]


def test_unwrap_lines_keeps_short_lines_and_list_items() -> None:
    text = (
        "Title line\n"
        "This is a long line of prose that runs across the whole width of the page and\n"
        "continues here after a wrap, ending a para-\n"
        "graph with a split word.\n"
        "- a list item that is short\n"
        "\n"
        "Next paragraph."
    )
    assert unwrap_lines(text) == (
        "Title line\n"
        "This is a long line of prose that runs across the whole width of the page and "
        "continues here after a wrap, ending a paragraph with a split word.\n"
        "- a list item that is short\n"
        "\n"
        "Next paragraph."
    )


def test_pdf_encrypted_with_a_password(tmp_path: Path) -> None:
    data = rewrite_pdf(
        make_pdf(GUIDELINE_PAGES),
        lambda w: w.encrypt(user_password="secret", algorithm="RC4-128"),
    )
    path = write(tmp_path, "locked.pdf", data)
    with pytest.raises(ParseFailure) as caught:
        list(PdfReader().read(path))
    assert str(caught.value) == (
        f"{path}: the PDF is encrypted; remove the password (e.g. "
        "`qpdf --decrypt --password=PASSWORD locked.pdf decrypted.pdf`) and ingest again"
    )


def test_pdf_with_only_an_owner_password_is_read(tmp_path: Path) -> None:
    data = rewrite_pdf(
        make_pdf(GUIDELINE_PAGES),
        lambda w: w.encrypt(user_password="", owner_password="owner", algorithm="RC4-128"),
    )
    (doc,) = read(write(tmp_path, "restricted.pdf", data))
    assert "practice team" in doc.text


@pytest.mark.parametrize("cut", [300, 700])
def test_pdf_truncated_is_not_readable(tmp_path: Path, cut: int) -> None:
    path = write(tmp_path, "cut.pdf", make_pdf(GUIDELINE_PAGES)[:cut])
    with pytest.raises(
        ParseFailure, match=r"cut\.pdf: not a readable PDF: .+; the file is damaged"
    ):
        list(PdfReader().read(path))


def test_pdf_that_is_really_a_web_page(tmp_path: Path) -> None:
    path = write(tmp_path, "paper.pdf", "<html><body>Access denied</body></html>")
    with pytest.raises(ParseFailure, match=r"not a readable PDF: there is no %PDF header"):
        list(PdfReader().read(path))


def test_pdf_without_text_suggests_ocr(tmp_path: Path) -> None:
    path = write(tmp_path, "scan.pdf", make_pdf([[], []]))
    with pytest.raises(ParseFailure) as caught:
        list(PdfReader().read(path))
    assert str(caught.value) == (
        f"{path}: no extractable text in 2 page(s); it looks scanned. Run OCR first "
        "(e.g. `ocrmypdf scan.pdf ocr.pdf`) and ingest the result"
    )


# --- JSONL


def test_jsonl_reads_each_record_with_front_matter_keys() -> None:
    guideline, trial = read(DATA / "records.jsonl")
    assert guideline.meta.title == "Hypertension: a synthetic guideline"
    assert guideline.meta.kind is DocumentKind.GUIDELINE and not guideline.meta.kind_inferred
    assert (guideline.meta.source, guideline.meta.year) == ("Example Health", 2019)
    assert guideline.meta.authors == ("Example A", "Sample B")
    assert guideline.meta.grade == "Strong"
    assert guideline.meta.conditions == ("Hypertension",)
    assert guideline.meta.extra == {"id": "rec-1"}  # "text" is not copied into extra
    assert headings(guideline) == ["", "Treatment"]
    # No title: the first line stands in and the kind is inferred from it.
    assert trial.meta.title.startswith("A randomised trial of statins")
    assert trial.meta.kind is DocumentKind.RANDOMISED_TRIAL and trial.meta.kind_inferred
    assert (trial.meta.pmid, trial.meta.doi) == ("90000050", "10.9999/x.1")


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"text": "ok", ', "not valid JSON (Expecting property name enclosed in double quotes"),
        ('["text"]', "expected a JSON object, found list"),
        ('{"title": "No body"}', 'no "text" (a non-empty string is required)'),
        ('{"text": "x", "kind": "blog"}', "kind 'blog' is not one of: guideline, "),
        ('{"text": "x", "year": "soon"}', "year 'soon' is not a number"),
    ],
)
def test_jsonl_bad_line_fails_the_whole_file(tmp_path: Path, line: str, problem: str) -> None:
    good = '{"text": "A good first record."}'
    path = write(tmp_path, "batch.jsonl", f"{good}\n{line}\n{good}\n")
    documents = JsonlReader().read(path)
    with pytest.raises(ParseFailure) as caught:
        next(documents)  # nothing is yielded, not even the good first line
    message = str(caught.value)
    assert message.startswith(f"{path}: line 2: {problem}")
    assert message.endswith(
        "; fix that line and ingest again (no record from this file was ingested)"
    )


def test_jsonl_text_wrapped_over_lines_is_read_as_whole_sentences(tmp_path: Path) -> None:
    record = {
        "title": "Gout flares",
        "text": "Most flares settle with colchicine. People on dialysis are an exception,\n"
        "because colchicine builds up when the kidneys do not clear it.\n\n"
        "- Rest the joint.\n- Keep it cool.",
    }
    path = write(tmp_path, "wrapped.jsonl", json.dumps(record) + "\n")
    [doc] = JsonlReader().read(path)
    found = [c.text[s:e] for c in chunk_document(doc, "doc") for s, e in c.sentences]

    assert (
        "People on dialysis are an exception, because colchicine builds up when the kidneys "
        "do not clear it." in found
    )
    assert "- Rest the joint." in found and "- Keep it cool." in found


def test_jsonl_not_utf8(tmp_path: Path) -> None:
    path = write(tmp_path, "latin.jsonl", b'{"text": "caf\xe9"}\n')
    with pytest.raises(ParseFailure, match=r"not UTF-8 text \(bad byte at offset 13\)"):
        list(JsonlReader().read(path))


# --- Empty files, for every reader


@pytest.mark.parametrize(
    ("reader", "name"),
    [
        (PubmedXmlReader(), "a.xml"),
        (JatsXmlReader(), "a.nxml"),
        (MedquadReader(), "a.xml"),
        (NgcReader(), "a.xml"),
        (HtmlReader(), "a.html"),
        (PdfReader(), "a.pdf"),
        (JsonlReader(), "a.jsonl"),
        (PubmedQaReader(), "a.json"),
        (BioasqReader(), "a.json"),
    ],
    ids=lambda value: getattr(value, "name", value),
)
def test_empty_file(tmp_path: Path, reader: object, name: str) -> None:
    path = write(tmp_path, name, "  \n")
    with pytest.raises(ParseFailure) as caught:
        list(reader.read(path))  # type: ignore[attr-defined]
    assert str(caught.value) == f"{path}: the file is empty; nothing to ingest"


# --- PubMedQA


def test_pubmedqa_one_document_per_pmid() -> None:
    walking, drug = read(DATA / "pubmedqa_sample.json")
    assert walking.meta.title == "Does walking after meals lower glucose in a fictional cohort?"
    assert walking.meta.extra["dataset"] == "pubmedqa"
    assert walking.meta.extra["question"] == walking.meta.title
    assert (walking.meta.pmid, walking.meta.year) == ("90000030", 2016)
    assert walking.meta.url == "https://pubmed.ncbi.nlm.nih.gov/90000030/"
    assert headings(walking) == ["Background", "Methods", "Results"]
    assert walking.meta.conditions == ("Blood Glucose", "Walking", "Diabetes Mellitus, Type 2")
    assert walking.meta.kind is DocumentKind.OBSERVATIONAL and walking.meta.kind_inferred
    # The answer is not part of the knowledge base: it is what evaluation asks for.
    assert "lowered glucose" not in walking.text and "LONG_ANSWER" not in walking.meta.extra
    # "Randomized Controlled Trials as Topic" is about trials, not a trial: stays unknown.
    assert drug.meta.kind is DocumentKind.UNKNOWN and drug.meta.year is None


def test_pubmedqa_malformed_json(tmp_path: Path) -> None:
    path = write(tmp_path, "ori_pqal.json", '{"1": {"QUESTION": "q",\n "CONTEXTS": [}}')
    with pytest.raises(ParseFailure, match=r"malformed JSON at line 2, column 15: Expecting value"):
        list(PubmedQaReader().read(path))


def test_pubmedqa_wrong_shape(tmp_path: Path) -> None:
    path = write(tmp_path, "ori_pqal.json", '{"123": {"QUESTION": "Why?", "CONTEXTS": "text"}}')
    with pytest.raises(ParseFailure) as caught:
        list(PubmedQaReader().read(path))
    assert str(caught.value) == (
        f'{path}: PMID 123: "CONTEXTS" is not a list of strings; the file is not PubMedQA\'s '
        "ori_pqal.json format. Download it again and ingest again"
    )
    path = write(tmp_path, "list.json", "[1, 2]")
    with pytest.raises(ParseFailure, match=r"expected PubMedQA's object of PMID -> record, found"):
        list(PubmedQaReader().read(path))


def test_pubmedqa_not_utf8(tmp_path: Path) -> None:
    path = write(tmp_path, "ori_pqal.json", b'{"1": {"QUESTION": "caf\xe9"}}')
    with pytest.raises(ParseFailure, match=r"not UTF-8 text"):
        list(PubmedQaReader().read(path))


# --- BioASQ


def test_bioasq_one_document_per_pmid_with_distinct_snippets() -> None:
    trial, other = read(DATA / "bioasq_sample.json")
    assert trial.meta.pmid == "90000040"
    assert trial.meta.title == "Drug X for imaginary disease: a randomized controlled trial"
    assert trial.meta.kind is DocumentKind.RANDOMISED_TRIAL and trial.meta.kind_inferred
    assert trial.meta.extra == {
        "dataset": "bioasq",
        "question_ids": ["q0000000000000000000001", "q0000000000000000000002"],
    }
    # Title first; the repeated snippet and the one inside a longer snippet are dropped.
    assert headings(trial) == ["Title", "Abstract", "Abstract"]
    assert trial.text.count("reduced symptoms of imaginary disease") == 1
    assert other.meta.title == "PubMed 90000041"
    assert other.meta.kind is DocumentKind.UNKNOWN


def test_bioasq_wrong_shape(tmp_path: Path) -> None:
    path = write(tmp_path, "b.json", '{"questions": {"id": 1}}')
    with pytest.raises(ParseFailure, match=r'expected a BioASQ object \{"questions": \[\.\.\.\]\}'):
        list(BioasqReader().read(path))
    snippet = {"text": "t", "document": "https://example.org/paper/1"}
    path = write(tmp_path, "c.json", json.dumps({"questions": [{"snippets": [snippet]}]}))
    with pytest.raises(ParseFailure) as caught:
        list(BioasqReader().read(path))
    assert str(caught.value) == (
        f"{path}: question 1: snippet document 'https://example.org/paper/1' is not a PubMed "
        "URL; the file is not in BioASQ golden format"
    )


def test_bioasq_malformed_json(tmp_path: Path) -> None:
    path = write(tmp_path, "b.json", '{"questions": [\n{"id": 1,}\n]}')
    with pytest.raises(ParseFailure, match=r"malformed JSON at line 2, column 10"):
        list(BioasqReader().read(path))


# --- MedQuAD


def test_medquad_answered_pairs_become_sections() -> None:
    (doc,) = read(DATA / "medquad_gard.xml")
    meta = doc.meta
    assert meta.title == "Fictional syndrome"
    assert meta.kind is DocumentKind.PATIENT_INFORMATION and not meta.kind_inferred
    assert meta.source == "GARD"
    assert meta.url == "https://example.org/gard/9000001/fictional-syndrome"
    assert meta.licence == "CC BY 4.0"
    assert meta.conditions == ("Fictional syndrome", "Imaginary disorder")
    assert meta.extra["umls_cuis"] == ["C9999999"]
    # The empty answer is skipped and the repeated answer kept once.
    assert headings(doc) == [
        "What is (are) Fictional syndrome ?",
        "What are the treatments for Fictional syndrome ?",
    ]
    assert section_text(doc, "What are the treatments for Fictional syndrome ?") == (
        "No treatment is needed.\n- Reassure the tester.\n- Close the test file."
    )


def test_medquad_medlineplus_file_without_answers() -> None:
    path = DATA / "medquad_mplus_empty.xml"
    with pytest.raises(ParseFailure) as caught:
        list(MedquadReader().read(path))
    assert str(caught.value) == (
        f"{path}: no answer text in its 2 question(s) (MedQuAD removed the MedlinePlus answers "
        "for copyright, leaving only the questions); skip the 10_MPlus_ADAM_QA, "
        "11_MPlusDrugs_QA and 12_MPlusHerbsSupplements_QA folders"
    )


def test_medquad_other_file_without_answers(tmp_path: Path) -> None:
    xml = (DATA / "medquad_mplus_empty.xml").read_text(encoding="utf-8")
    path = write(tmp_path, "nindsx.xml", xml.replace('source="ADAM"', 'source="NINDS"'))
    with pytest.raises(ParseFailure) as caught:
        list(MedquadReader().read(path))
    assert str(caught.value) == f"{path}: no answer text in its 2 question(s); nothing to ingest"


def test_medquad_malformed(tmp_path: Path) -> None:
    path = write(tmp_path, "m.xml", '<Document id="1">\n<Focus>X</Focus>\n<QAPairs>\n</Document>')
    with pytest.raises(ParseFailure, match=r"m\.xml: malformed XML at line 4: "):
        list(MedquadReader().read(path))


# --- NGC


def test_ngc_summary_is_a_graded_guideline() -> None:
    (doc,) = read(DATA / "ngc_summary.xml")
    meta = doc.meta
    assert meta.title == (
        "Screening for imaginary disease: Example Task Force recommendation statement"
    )
    assert meta.kind is DocumentKind.GUIDELINE and not meta.kind_inferred
    assert meta.source == "Example Task Force"  # the developer type is dropped
    assert meta.year == 2015  # the revision year of "2009 Jan (revised 2015 Mar 3)"
    assert meta.pmid == "90000020"
    assert meta.url == "https://pubmed.ncbi.nlm.nih.gov/90000020/"
    assert meta.licence == "No copyright restrictions"
    assert meta.grade == "What the Example Task Force Grades Mean"
    assert meta.conditions == ("Imaginary disease", "Complications of imaginary disease")
    assert meta.extra["citation"].startswith("Example Task Force. Screening for imaginary")
    assert headings(doc) == [
        "Major Recommendations",
        "Major Recommendations > Summary of Recommendation",
        "Major Recommendations > Screening Tests",
        "Disease/Condition(s)",
        "Target Population",
        "Rating Scheme for the Strength of the Recommendations > What the Example Task Force "
        "Grades Mean",
    ]
    summary = section_text(doc, "Major Recommendations > Summary of Recommendation")
    # A bold sentence is a recommendation, not a heading: it stays in the passage text.
    assert summary.endswith("(B recommendation)\nOffer the screening test once.")
    tests = section_text(doc, "Major Recommendations > Screening Tests")
    assert tests == "- Questionnaire\n- Blood test – where available"
    assert "A | High certainty of substantial net benefit." in doc.text
    assert "None available" not in doc.text and "Not stated" not in doc.text


def test_ngc_without_major_recommendations(tmp_path: Path) -> None:
    xml = (DATA / "ngc_summary.xml").read_text(encoding="utf-8")
    stub = xml.replace('Name="Major Recommendations"', 'Name="Other Field"')
    path = write(tmp_path, "ngc-1.xml", stub)
    with pytest.raises(ParseFailure) as caught:
        list(NgcReader().read(path))
    assert str(caught.value) == (
        f'{path}: the summary has no "Major Recommendations" text (NGC archive stubs are '
        "empty); use a full summary file"
    )


def test_ngc_malformed(tmp_path: Path) -> None:
    path = write(tmp_path, "ngc-2.xml", "<Version>\n<Section Name='General'>\n</Version>")
    with pytest.raises(ParseFailure, match=r"malformed XML at line 3: "):
        list(NgcReader().read(path))


# --- The staged public datasets (never copied into the repository)


def _shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not in the shared data")
    return path


def _docs(path: Path) -> Iterator[ParsedDocument]:
    yield from read(path)


@pytest.mark.shared_data
@needs_shared
def test_shared_pubmedqa_yields_1000_abstracts() -> None:
    path = _shared("pubmedqa", "ori_pqal.json")
    assert route(path) == "pubmedqa"
    docs = list(_docs(path))
    assert len(docs) == 1000
    assert len({d.meta.pmid for d in docs}) == 1000
    assert all(d.meta.pmid and d.meta.pmid.isdigit() and d.sections for d in docs)


@pytest.mark.shared_data
@needs_shared
def test_shared_bioasq_batch() -> None:
    path = _shared("bioasq-golden-7b-11b", "Task11BGoldenEnriched", "11B1_golden.json")
    assert route(path) == "bioasq"
    data = json.loads(path.read_text(encoding="utf-8"))
    pmids = {
        s["document"].rsplit("/", 1)[1] for q in data["questions"] for s in q.get("snippets", [])
    }
    docs = list(_docs(path))
    assert {d.meta.pmid for d in docs} == pmids
    assert all(headings(d) and set(headings(d)) <= {"Title", "Abstract"} for d in docs)


@pytest.mark.shared_data
@needs_shared
def test_shared_medquad_gard_and_variant_schemas() -> None:
    gard = _shared("medquad", "2_GARD_QA", "0000004.xml")
    assert route(gard) == "medquad"
    (doc,) = _docs(gard)
    assert doc.meta.kind is DocumentKind.PATIENT_INFORMATION
    assert doc.meta.source == "GARD" and doc.meta.title == "ABCD syndrome"
    # One CDC file is <DiseaseFile>; four NINDS files use the older lower-case schema.
    for variant in (("9_CDC_QA", "0000397.xml"), ("6_NINDS_QA", "0000007.xml")):
        path = _shared("medquad", *variant)
        assert route(path) == "medquad"
        (doc,) = _docs(path)
        assert doc.sections and doc.meta.source in ("CDC", "NINDS")


@pytest.mark.shared_data
@needs_shared
def test_shared_medquad_medlineplus_has_no_answers() -> None:
    path = _shared("medquad", "10_MPlus_ADAM_QA", "0000001.xml")
    with pytest.raises(
        ParseFailure, match=r"MedQuAD removed the MedlinePlus answers for copyright"
    ):
        list(_docs(path))


@pytest.mark.shared_data
@needs_shared
def test_shared_ngc_summaries() -> None:
    folder = _shared("ngc-guideline-summaries-open", "summaries")
    (doc,) = _docs(folder / "ngc-10008.xml")
    assert doc.meta.kind is DocumentKind.GUIDELINE
    assert doc.meta.source == "U.S. Preventive Services Task Force"
    assert doc.meta.year == 2013 and doc.meta.pmid == "24026320"
    assert doc.meta.grade and doc.meta.grade.startswith("What the U.S. Preventive Services")
    assert "Major Recommendations" in headings(doc)
    everything = [d for path in sorted(folder.glob("ngc-*.xml")) for d in _docs(path)]
    assert len(everything) == 116
    assert all(d.meta.title and d.meta.year and d.meta.source for d in everything)


HARD_WRAPPED = """---
title: Gout flares in primary care
kind: narrative_review
---
# Treatment
Gout flares are treated with colchicine, an anti-inflammatory drug or a corticosteroid,
started as early as possible in the flare. People on dialysis are an exception,
because colchicine and anti-inflammatory drugs build up when the kidneys do not clear them.

- Ice and rest help
  while the drug takes effect.
- Review after one week.

```
dose table
kept as written
```
Line with a hard break\\
stays a line.
"""


def test_markdown_hard_wrapped_lines_are_read_as_whole_sentences(tmp_path: Path) -> None:
    path = tmp_path / "wrapped.md"
    path.write_text(HARD_WRAPPED)
    doc = next(MarkdownReader().read(path))
    chunks = chunk_document(doc, "doc")
    found = [c.text[s:e] for c in chunks for s, e in c.sentences]

    assert (
        "People on dialysis are an exception, because colchicine and anti-inflammatory drugs "
        "build up when the kidneys do not clear them." in found
    )
    assert not [s for s in found if s.startswith("because")]
    assert "- Ice and rest help while the drug takes effect." in found
    assert "- Review after one week." in found
    assert "dose table" in found and "kept as written" in found
    assert "Line with a hard break\\" in found


def test_text_file_wrapped_at_72_columns_is_read_as_whole_sentences(tmp_path: Path) -> None:
    path = tmp_path / "leaflet.txt"
    path.write_text(
        "Gout flares: a leaflet for primary care\n"
        "\n"
        "Gout flares are treated with colchicine, an anti-inflammatory drug or a\n"
        "corticosteroid, started as early as possible in the flare. People on\n"
        "dialysis are an exception, because colchicine and anti-inflammatory drugs\n"
        "build up in kidney failure.\n"
        "\n"
        "- Rest the joint.\n"
        "- Keep it cool.\n"
    )
    doc = next(TextReader().read(path))
    found = [c.text[s:e] for c in chunk_document(doc, "doc") for s, e in c.sentences]

    assert doc.meta.title == "Gout flares: a leaflet for primary care"
    assert (
        "People on dialysis are an exception, because colchicine and anti-inflammatory drugs "
        "build up in kidney failure." in found
    )
    assert "- Rest the joint." in found and "- Keep it cool." in found
