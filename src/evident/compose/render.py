"""Render an article for people (terminal, Markdown, HTML) and programs (JSON).

Citation numbers are assigned here, at display: references are numbered in order of
first use and listed grouped Guideline / Research / Textbook / Patient information.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

from jinja2 import Environment

from evident import __version__
from evident.compose.phrasebook import BOTTOM_LINE_HEADING, GROUP_HEADINGS, INTROS
from evident.models import (
    Article,
    Reference,
    ReferenceGroup,
    ReviewStatus,
    Statement,
    reference_group,
)

SCHEMA = "evident.article/1"

# What every article says about its limits, after how it was written.
_USE_WITH_CARE = (
    "it has not examined the patient and does not know their history. Treat this article as "
    "a starting point for a qualified clinician's judgement, never a replacement for it, and "
    "check each statement against its source and your local guidance before acting on it."
)
DISCLAIMER = f"evident assembles quotations from the documents in its library; {_USE_WITH_CARE}"
# A model-written article paraphrases; saying it "assembles quotations" would mislead.
DISCLAIMER_MODEL = (
    "A language model wrote these statements from the documents in evident's library, and "
    f"evident checked each one against the passages it cites; {_USE_WITH_CARE}"
)


def disclaimer(article: Article) -> str:
    """The disclaimer that describes how this article was written."""
    return DISCLAIMER_MODEL if article.composer == "llm" else DISCLAIMER


STATUS_LABEL = {
    ReviewStatus.DRAFT: "Pending human review",
    ReviewStatus.SUBMITTED: "Submitted — pending human review",
    ReviewStatus.UNDER_REVIEW: "Under review — pending human review",
    ReviewStatus.CHANGES_REQUESTED: "Changes requested — pending human review",
    ReviewStatus.APPROVED: "Approved by a reviewer",
    ReviewStatus.REJECTED: "Rejected by a reviewer",
    ReviewStatus.PUBLISHED: "Approved and published",
    ReviewStatus.SUPERSEDED: "Superseded by a newer revision",
    ReviewStatus.RETRACTED: "Retracted",
}

GROUP_HEADING = {"guidelines": "From the Guidelines", "research": "From the Research"}


@dataclass(frozen=True)
class Numbered:
    """An article with display numbers: reference key -> number, and the grouped list."""

    article: Article
    numbers: dict[str, int]
    groups: list[tuple[ReferenceGroup, list[tuple[int, Reference]]]]

    def marks(self, statement: Statement) -> list[int]:
        keys = dict.fromkeys(c.document_id[:10] for c in statement.citations)
        return sorted(self.numbers[k] for k in keys if k in self.numbers)


def number(article: Article) -> Numbered:
    """Assign citation numbers in order of first use and group the reference list."""
    numbers: dict[str, int] = {}
    for statement in article.statements():
        for citation in statement.citations:
            numbers.setdefault(citation.document_id[:10], len(numbers) + 1)
    by_key = {r.key: r for r in article.references}
    groups = []
    for group in ReferenceGroup:
        members = sorted(
            (numbers[r.key], r)
            for r in article.references
            if reference_group(r.meta.kind) is group and r.key in numbers
        )
        if members:
            groups.append((group, members))
    assert set(numbers) <= set(by_key), "a citation points outside the reference list"
    return Numbered(article, numbers, groups)


def reference_line(ref: Reference) -> str:
    """One reference as text: title, source, year and identifiers as the library holds them."""
    meta = ref.meta
    parts = [meta.title.rstrip(".") + "."]
    if meta.source:
        parts.append(meta.source.rstrip(".") + (f", {meta.year}." if meta.year else "."))
    elif meta.year:
        parts.append(f"{meta.year}.")
    ids = []
    if meta.pmid:
        ids.append(f"PMID {meta.pmid}")
    if meta.doi:
        ids.append(f"doi:{meta.doi}")
    if meta.url:
        ids.append(meta.url)
    if ids:
        parts.append(" · ".join(ids))
    return " ".join(parts)


def _heading_groups(article: Article) -> list[tuple[str, list[Any]]]:
    """Sections in order, with a group heading wherever the group changes."""
    out: list[tuple[str, list[Any]]] = []
    headings = {**GROUP_HEADING, **GROUP_HEADINGS.get(article.audience, {})}
    for section in article.sections:
        title = headings.get(section.group, "")
        if not out or out[-1][0] != title:
            out.append((title, []))
        out[-1][1].append(section)
    return out


def status_line(article: Article) -> str:
    return (
        f"{STATUS_LABEL[article.status]} · generated {article.generated_at:%Y-%m-%d %H:%M} UTC · "
        f"library {article.library_version} · for {article.audience.value}s"
    )


def to_markdown(article: Article) -> str:
    """Render the article as Markdown with numbered citations."""
    n = number(article)
    lines = [f"# {article.title}", "", f"*{status_line(article)}*", ""]
    if article.abstained:
        lines += [f"**{article.abstain_reason}**", "", "## What was searched", ""]
        lines += [f"- {q}" for q in article.searched]
        lines += ["", "## What to add to the library", ""]
        lines += [f"- {s}" for s in article.suggestions]
    else:
        heading, intro = bottom_line_heading(article)
        if heading:
            lines += [f"## {heading}", ""] + ([f"*{intro}*", ""] if intro else [])
        bottom = " ".join(_statement_md(n, s) for s in article.bottom_line)
        lines += [f"**{bottom}**", ""]
        explained = [e for s in article.bottom_line for e in s.explain]
        if explained:
            lines += [f"- *{term}*: {meaning}" for term, meaning in explained] + [""]
        for group, sections in _heading_groups(article):
            if group:
                lines += [f"## {group}", ""]
            for section in sections:
                lines += [f"{'###' if group else '##'} {section.heading}", ""]
                if section.intro:
                    lines += [f"*{section.intro}*", ""]
                for s in section.statements:
                    lines.append(f"- {_statement_md(n, s)}")
                    lines += [f"  - *{term}*: {meaning}" for term, meaning in s.explain]
                lines.append("")
        lines += ["## References", ""]
        for group_name, members in n.groups:
            lines += [f"**{group_name.value}**", ""]
            lines += [f"{num}. {reference_line(ref)}" for num, ref in members]
            lines.append("")
    if article.notes:
        lines += ["## Notes", ""] + [f"- {note}" for note in article.notes] + [""]
    lines += ["---", "", f"*{disclaimer(article)}*", ""]
    return "\n".join(lines)


def _marks_md(n: Numbered, statement: Statement) -> str:
    return "".join(f"[{m}]" for m in n.marks(statement))


def _statement_md(n: Numbered, s: Statement) -> str:
    """A statement with its lead-in; evident's own pointers are set in italics."""
    text = f"*{s.text}*" if s.generated else s.text
    return f"{s.lead + ' ' if s.lead else ''}{text} {_marks_md(n, s)}"


def bottom_line_heading(article: Article) -> tuple[str, str]:
    """The bottom line's heading and framing line for the article's reader (none for
    physicians, whose rendering opens with the bottom line)."""
    return (
        BOTTOM_LINE_HEADING.get(article.audience, ""),
        INTROS.get(article.audience, {}).get("bottom", ""),
    )


def omitted_for_audience(article: Article) -> list[dict[str, Any]]:
    """Statements left out of this reader's rendering, with why and what they cite."""
    return [
        {
            "text": r.statement.text,
            "reason": r.reason,
            "citations": list(dict.fromkeys(c.document_id[:10] for c in r.statement.citations)),
        }
        for r in article.omitted
    ]


def to_terminal(article: Article) -> str:
    """Render for a terminal (rich markup)."""
    from rich.markup import escape

    n = number(article)
    out = [
        f"[bold underline]{escape(article.title)}[/]",
        f"[dim]{escape(status_line(article))}[/]",
        "",
    ]
    if article.abstained:
        out += [f"[bold]{escape(article.abstain_reason)}[/]", "", "[bold]What was searched[/]"]
        out += [f"  • {escape(q)}" for q in article.searched]
        out += ["", "[bold]What to add to the library[/]"]
        out += [f"  • {escape(s)}" for s in article.suggestions]
    else:
        heading, intro = bottom_line_heading(article)
        if heading:
            out.append(
                f"[bold]{escape(heading)}[/]" + (f" [dim]{escape(intro)}[/]" if intro else "")
            )
        for s in article.bottom_line:
            lead = f"{escape(s.lead)} " if s.lead else ""
            out.append(f"{lead}[bold]{escape(s.text)}[/] [cyan]{escape(_marks_md(n, s))}[/]")
            out += [f"    [dim]{escape(t)}: {escape(m)}[/]" for t, m in s.explain]
        out.append("")
        for group, sections in _heading_groups(article):
            if group:
                out += [f"[bold reverse] {escape(group)} [/]", ""]
            for section in sections:
                out.append(f"[bold]{escape(section.heading)}[/]")
                if section.intro:
                    out.append(f"  [dim]{escape(section.intro)}[/]")
                for s in section.statements:
                    lead = f"{escape(s.lead)} " if s.lead else ""
                    text = f"[italic]{escape(s.text)}[/]" if s.generated else escape(s.text)
                    out.append(f"  • {lead}{text} [cyan]{escape(_marks_md(n, s))}[/]")
                    out += [f"      [dim]{escape(t)}: {escape(m)}[/]" for t, m in s.explain]
                out.append("")
        out.append("[bold]References[/]")
        for group_name, members in n.groups:
            out.append(f"[italic]{group_name.value}[/]")
            out += [f"  {num}. {escape(reference_line(ref))}" for num, ref in members]
    if article.notes:
        out += ["", "[bold]Notes[/]"] + [f"  • {escape(note)}" for note in article.notes]
    out += ["", f"[dim]{escape(disclaimer(article))}[/]"]
    return "\n".join(out)


def statement_json(s: Statement) -> dict[str, Any]:
    """One statement as in the article JSON: text, reference keys, evidence spans, support."""
    return {
        "text": s.text,
        "citations": list(dict.fromkeys(c.document_id[:10] for c in s.citations)),
        "evidence": [
            {"chunk_id": c.chunk_id, "start": c.start, "end": c.end, "quote": c.quote}
            for c in s.citations
        ],
        "support": s.support,
        "lead": s.lead,
        "explain": [{"term": t, "meaning": m} for t, m in s.explain],
        "generated": s.generated,
    }


def to_json(article: Article) -> dict[str, Any]:
    """Return the versioned JSON form of an article (schema evident.article/1)."""
    statement = statement_json
    n = number(article)
    return {
        "schema": SCHEMA,
        "title": article.title,
        "question": article.question,
        "question_type": article.question_type.value,
        "condition": article.condition,
        "audience": article.audience.value,
        "bottom_line": [statement(s) for s in article.bottom_line],
        "sections": [
            {
                "heading": sec.heading,
                "group": sec.group,
                "intro": sec.intro,
                "statements": [statement(s) for s in sec.statements],
            }
            for sec in article.sections
        ],
        "references": [
            {
                "key": ref.key,
                "number": n.numbers.get(ref.key),
                "document_id": ref.document_id,
                "title": ref.meta.title,
                "kind": ref.meta.kind.value,
                "group": reference_group(ref.meta.kind).value,
                "source": ref.meta.source,
                "year": ref.meta.year,
                "pmid": ref.meta.pmid,
                "doi": ref.meta.doi,
                "url": ref.meta.url,
                "grade": ref.meta.grade,
            }
            for _, members in n.groups
            for _, ref in members
        ],
        "status": article.status.value,
        "status_label": STATUS_LABEL[article.status],
        "abstained": article.abstained,
        "abstain_reason": article.abstain_reason,
        "searched": list(article.searched),
        "suggestions": list(article.suggestions),
        "notes": list(article.notes),
        "removed": [{"text": r.statement.text, "reason": r.reason} for r in article.removed],
        "omitted": omitted_for_audience(article),
        "metrics": article.metrics,
        "composer": article.composer,
        "fallback": article.fallback,
        "generated_at": article.generated_at.isoformat(),
        "library_version": article.library_version,
        "evident_version": __version__,
        "disclaimer": disclaimer(article),
    }


_HTML = Environment(autoescape=True).from_string(
    resources.files("evident.compose").joinpath("article.html").read_text("utf-8")
)


def to_html(article: Article) -> str:
    """Render a standalone, escaped HTML page."""
    heading, intro = bottom_line_heading(article)
    return _HTML.render(
        a=article,
        bottom_heading=heading,
        bottom_intro=intro,
        n=number(article),
        groups=_heading_groups(article),
        status=status_line(article),
        line=reference_line,
        disclaimer=disclaimer(article),
    )
