"""Markdown with YAML front matter: the native format of curated libraries."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import frontmatter
import yaml
from frontmatter.default_handlers import YAMLHandler

from evident.errors import ParseFailure
from evident.ingest.readers.base import decode_utf8, infer_kind, join_sections
from evident.models import DocumentKind, DocumentMeta, ParsedDocument, SourceSection

# Front matter is a few fields; a block this long is a mistake or an attack, and refusing it
# keeps the parsed metadata (stored as JSON with every document) small.
MAX_FRONT_MATTER_CHARS = 65_536

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_KNOWN = {
    "title",
    "kind",
    "source",
    "organisation",
    "organization",
    "journal",
    "year",
    "authors",
    "pmid",
    "doi",
    "url",
    "licence",
    "license",
    "grade",
    "conditions",
}


# Front matter is a few flat fields; deeper nesting only serves to exhaust the stack.
MAX_FRONT_MATTER_DEPTH = 32


class _AliasRefused(yaml.YAMLError):
    """A YAML alias (*name) in front matter; evident refuses to expand them."""

    def __init__(self, anchor: str, line: int) -> None:
        super().__init__(f"alias *{anchor} at line {line}")
        self.anchor = anchor
        self.line = line


class _TooDeep(yaml.YAMLError):
    """Front matter nested deeper than MAX_FRONT_MATTER_DEPTH."""

    def __init__(self, line: int) -> None:
        super().__init__(f"nested too deeply at line {line}")
        self.line = line


# libyaml when present (fast, and its messages are the ones users have seen), else Python.
_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _BoundedYAMLHandler(YAMLHandler):
    """Loads front matter only after checking that it has no aliases.

    A few hundred bytes of nested aliases ("billion laughs") expand to gigabytes once the
    metadata is copied or serialised; front matter never needs them. Scanning the event
    stream first is linear in the input's length.
    """

    def load(self, fm: str, **kwargs: object) -> Any:
        depth = 0
        for event in yaml.parse(fm, Loader=_SafeLoader):
            line = event.start_mark.line + 1 if event.start_mark is not None else 0
            if isinstance(event, yaml.AliasEvent):
                raise _AliasRefused(str(event.anchor), line)
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_FRONT_MATTER_DEPTH:
                    raise _TooDeep(line)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        return yaml.load(fm, Loader=_SafeLoader)


def load_front_matter(path: Path, raw: str) -> tuple[dict[str, Any], str]:
    """Split a text into its front matter (as a mapping) and its body, within bounds.

    Raises:
        ParseFailure: the front matter is malformed, too long or uses YAML aliases.
    """
    handler = frontmatter.detect_format(raw, frontmatter.handlers)
    if handler is None:
        return {}, raw.strip()
    if isinstance(handler, YAMLHandler):
        handler = _BoundedYAMLHandler()
    try:
        fm, _ = handler.split(raw.strip())
    except ValueError:
        return {}, raw.strip()
    if len(fm) > MAX_FRONT_MATTER_CHARS:
        raise ParseFailure(
            f"{path}: the front matter is {len(fm):,} characters long, over the "
            f"{MAX_FRONT_MATTER_CHARS:,} limit; keep it to a few fields, move long text into "
            "the body and ingest again"
        )
    try:
        metadata, content = frontmatter.parse(raw, handler=handler)
    except _AliasRefused as exc:
        raise ParseFailure(
            f"{path}: the YAML front matter uses the alias *{exc.anchor} (line {exc.line}); "
            "evident does not expand YAML aliases, which can blow a few bytes up to "
            "gigabytes. Write the value out in full and ingest again"
        ) from exc
    except _TooDeep as exc:
        raise ParseFailure(
            f"{path}: the YAML front matter nests lists or mappings more than "
            f"{MAX_FRONT_MATTER_DEPTH} levels deep (line {exc.line}); front matter is a few "
            "flat fields. Flatten it and ingest again"
        ) from exc
    except yaml.YAMLError as exc:
        # One line: the batch summary prints one line per failed file.
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ParseFailure(
            f"{path}: the YAML front matter is malformed ({problem}{where}); "
            "fix the block between the --- lines and ingest again"
        ) from exc
    return dict(metadata), content


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(";") if v.strip())
    return tuple(str(v).strip() for v in value if str(v).strip())


def _kind(path: Path, value: Any, title: str) -> tuple[DocumentKind, bool]:
    if value is None:
        return infer_kind(title), True
    try:
        return DocumentKind(str(value).strip().lower().replace(" ", "_").replace("-", "_")), False
    except ValueError:
        allowed = ", ".join(k.value for k in DocumentKind)
        raise ParseFailure(
            f"{path}: front matter kind {value!r} is not one of: {allowed}"
        ) from None


def meta_from_front_matter(path: Path, fm: dict[str, Any], fallback_title: str) -> DocumentMeta:
    """Build document metadata from a front-matter mapping (shared with JSONL records).

    Raises:
        ParseFailure: a field is invalid, or the metadata is too large to store.
    """
    size = len(json.dumps(fm, default=str))
    if size > MAX_FRONT_MATTER_CHARS:
        raise ParseFailure(
            f"{path}: the document's metadata is {size:,} characters as JSON, over the "
            f"{MAX_FRONT_MATTER_CHARS:,} limit; keep it to a few fields, move long text into "
            "the body and ingest again"
        )
    title = str(fm.get("title") or fallback_title).strip()
    if not title:
        raise ParseFailure(f"{path}: no title; add `title:` to the front matter")
    kind, inferred = _kind(path, fm.get("kind"), title)
    year = fm.get("year")
    try:
        year = int(year) if year not in (None, "") else None
    except (TypeError, ValueError):
        raise ParseFailure(f"{path}: year {year!r} is not a number") from None
    pmid = fm.get("pmid")
    return DocumentMeta(
        title=title,
        kind=kind,
        source=str(
            fm.get("source")
            or fm.get("organisation")
            or fm.get("organization")
            or fm.get("journal")
            or ""
        ).strip(),
        year=year,
        authors=_as_tuple(fm.get("authors")),
        pmid=str(pmid).strip() if pmid not in (None, "") else None,
        doi=(str(fm["doi"]).strip() or None) if fm.get("doi") else None,
        url=(str(fm["url"]).strip() or None) if fm.get("url") else None,
        licence=str(fm.get("licence") or fm.get("license") or "").strip() or None,
        grade=str(fm["grade"]).strip() if fm.get("grade") else None,
        conditions=_as_tuple(fm.get("conditions")),
        kind_inferred=inferred,
        extra={k: v for k, v in fm.items() if k not in _KNOWN and _plain(v)},
    )


def _plain(value: Any) -> bool:
    return isinstance(value, str | int | float | bool | list) or value is None


# Lines that begin a block of their own (list item, heading, quote, table row, fence,
# HTML, setext underline or rule) and so never continue the paragraph above them.
_BLOCK_START = re.compile(
    r"^\s*(?:[-*+\u2022]\s|\d{1,9}[.)]\s|#{1,6}(?:\s|$)|>|\||```|~~~|<|[=\-*_]{3,}\s*$)"
)
_FENCE = re.compile(r"^\s*(?:```|~~~)")
_RULE = re.compile(r"^\s*(?:[=\-*_]{3,}|<.*)\s*$")  # an underline, a rule or an HTML line


def unwrap_paragraphs(body: str) -> str:
    """Join the lines of each paragraph into one line.

    In Markdown a single line break inside a paragraph is a soft wrap, not a sentence end.
    Left as is, a hard-wrapped sentence is split at each line end and the composer can
    quote its second half ("because colchicine ... build up.") as if it were a sentence.
    Code blocks, list items, headings, tables and hard breaks (two trailing spaces or a
    backslash) keep their lines.
    """
    out: list[str] = []
    in_code = False
    for line in body.split("\n"):
        if _FENCE.match(line):
            in_code = not in_code
            out.append(line)
            continue
        previous = out[-1] if out else ""
        soft_wrap = (
            not in_code
            and line.strip()
            and previous.strip()
            and not _BLOCK_START.match(line)
            and not _HEADING.match(previous)
            and not _FENCE.match(previous)
            and not _RULE.match(previous)
            and not previous.lstrip().startswith("|")
            and not previous.endswith(("  ", "\\"))
        )
        if soft_wrap:
            out[-1] = f"{previous.rstrip()} {line.strip()}"
        else:
            out.append(line)
    return "\n".join(out)


def markdown_sections(body: str) -> list[tuple[str, str]]:
    """Split Markdown into (heading path, body) parts at ATX headings."""
    parts: list[tuple[str, str]] = []
    stack: list[str] = []
    lines: list[str] = []
    heading = ""
    for line in body.split("\n"):
        match = _HEADING.match(line)
        if match:
            parts.append((heading, "\n".join(lines)))
            level = len(match.group(1))
            # Level 1 is the title; the path starts at level 2.
            stack = stack[: max(level - 2, 0)] + ([match.group(2)] if level > 1 else [])
            heading = " > ".join(stack)
            lines = []
        else:
            lines.append(line)
    parts.append((heading, "\n".join(lines)))
    return parts


def read_markdown(body: str) -> tuple[str, tuple[SourceSection, ...]]:
    """Return a Markdown body's text and sections: wrapped paragraphs joined, headings cut.

    Every reader of Markdown text (.md files, a JSONL record's text) reads it through here,
    so they cannot drift apart.
    """
    return join_sections(markdown_sections(unwrap_paragraphs(body)))


class MarkdownReader:
    name = "markdown"
    suffixes = (".md", ".markdown")
    priority = 50

    def accepts(self, path: Path, head: bytes) -> bool:
        return path.suffix.lower() in self.suffixes

    def read(self, path: Path) -> Iterator[ParsedDocument]:
        raw = decode_utf8(path, path.read_bytes())
        metadata, content = load_front_matter(path, raw)
        first_heading = next(
            (m.group(2) for line in content.split("\n") if (m := _HEADING.match(line))),
            path.stem.replace("-", " ").replace("_", " "),
        )
        meta = meta_from_front_matter(path, metadata, first_heading)
        text, sections = read_markdown(content)
        if not text:
            raise ParseFailure(f"{path}: the document has front matter but no body text")
        yield ParsedDocument(text=text, meta=meta, sections=sections, format="markdown")
