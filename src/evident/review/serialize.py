"""Store and restore whole articles as JSON (schema evident.article/1).

The stored form is the public JSON of compose.render.to_json with the few fields that
the public form leaves out added alongside, so that article_from_json can rebuild the
domain object exactly: each evidence item's document_id, each statement's `indirect`
flag, full reference metadata, uncited references, and the citations of removed
statements. Readers of the public schema can ignore the extra keys.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from evident.compose.render import SCHEMA, to_json
from evident.errors import InvalidInput
from evident.models import (
    Article,
    ArticleSection,
    Audience,
    Citation,
    DocumentKind,
    DocumentMeta,
    QuestionType,
    Reference,
    RemovedStatement,
    ReviewStatus,
    Statement,
)


def _statement_extra(out: dict[str, Any], statement: Statement) -> None:
    out["indirect"] = statement.indirect
    for item, citation in zip(out["evidence"], statement.citations, strict=True):
        item["document_id"] = citation.document_id


def _meta_json(meta: DocumentMeta) -> dict[str, Any]:
    data = asdict(meta)
    data["kind"] = meta.kind.value
    data["authors"] = list(meta.authors)
    data["conditions"] = list(meta.conditions)
    return data


def _statement_json(statement: Statement) -> dict[str, Any]:
    return {
        "text": statement.text,
        "evidence": [
            {
                "chunk_id": c.chunk_id,
                "document_id": c.document_id,
                "start": c.start,
                "end": c.end,
                "quote": c.quote,
            }
            for c in statement.citations
        ],
        "support": statement.support,
        "indirect": statement.indirect,
        "lead": statement.lead,
        "explain": [{"term": t, "meaning": m} for t, m in statement.explain],
        "generated": statement.generated,
    }


def article_to_json(article: Article) -> dict[str, Any]:
    """Return the stored JSON of an article: the public form plus what restores it."""
    data = to_json(article)
    for out, statement in zip(data["bottom_line"], article.bottom_line, strict=True):
        _statement_extra(out, statement)
    for out_section, section in zip(data["sections"], article.sections, strict=True):
        for out, statement in zip(out_section["statements"], section.statements, strict=True):
            _statement_extra(out, statement)
    # Keep the article's own reference order, so the restored article equals the original.
    listed = {ref["key"]: ref for ref in data["references"]}
    references = []
    for ref in article.references:
        item = listed.get(ref.key) or {
            "key": ref.key,
            "number": None,
            "document_id": ref.document_id,
            "title": ref.meta.title,
        }
        item["meta"] = _meta_json(ref.meta)
        references.append(item)
    data["references"] = references
    data["removed"] = [
        {"text": r.statement.text, "reason": r.reason, "statement": _statement_json(r.statement)}
        for r in article.removed
    ]
    data["omitted"] = [
        {"text": r.statement.text, "reason": r.reason, "statement": _statement_json(r.statement)}
        for r in article.omitted
    ]
    return data


def _citation(item: dict[str, Any], keys: list[str], refs: dict[str, str]) -> Citation:
    document_id = item.get("document_id")
    if document_id is None:
        # The public form names documents per statement, not per evidence item.
        if len(keys) != 1 or keys[0] not in refs:
            raise InvalidInput(
                f"evidence for chunk {item.get('chunk_id')!r} does not say which document "
                "it is from; store articles with review.serialize.article_to_json"
            )
        document_id = refs[keys[0]]
    return Citation(
        chunk_id=str(item["chunk_id"]),
        document_id=str(document_id),
        start=int(item["start"]),
        end=int(item["end"]),
        quote=str(item["quote"]),
    )


def _statement(data: dict[str, Any], refs: dict[str, str]) -> Statement:
    keys = [str(k) for k in data.get("citations", [])]
    return Statement(
        text=str(data["text"]),
        citations=tuple(_citation(item, keys, refs) for item in data.get("evidence", [])),
        support=float(data.get("support", 1.0)),
        indirect=bool(data.get("indirect", False)),
        lead=str(data.get("lead", "")),
        explain=tuple((str(e["term"]), str(e["meaning"])) for e in data.get("explain", [])),
        generated=bool(data.get("generated", False)),
    )


def _meta(ref: dict[str, Any]) -> DocumentMeta:
    meta = ref.get("meta")
    if meta is None:
        return DocumentMeta(
            title=str(ref.get("title", "")),
            kind=DocumentKind(ref.get("kind", "unknown")),
            source=str(ref.get("source") or ""),
            year=ref.get("year"),
            pmid=ref.get("pmid"),
            doi=ref.get("doi"),
            url=ref.get("url"),
            grade=ref.get("grade"),
        )
    return DocumentMeta(
        title=str(meta["title"]),
        kind=DocumentKind(meta["kind"]),
        source=str(meta.get("source") or ""),
        year=meta.get("year"),
        authors=tuple(meta.get("authors", ())),
        pmid=meta.get("pmid"),
        doi=meta.get("doi"),
        url=meta.get("url"),
        licence=meta.get("licence"),
        grade=meta.get("grade"),
        conditions=tuple(meta.get("conditions", ())),
        kind_inferred=bool(meta.get("kind_inferred", False)),
        extra=dict(meta.get("extra", {})),
    )


def article_from_json(data: dict[str, Any]) -> Article:
    """Rebuild an Article from its stored JSON.

    Raises:
        InvalidInput: the JSON is not evident.article/1 or lacks a required field.
    """
    if data.get("schema") != SCHEMA:
        raise InvalidInput(
            f"article JSON has schema {data.get('schema')!r}, expected {SCHEMA!r}; "
            "it was written by another version of evident"
        )
    try:
        refs = {str(r["key"]): str(r["document_id"]) for r in data["references"]}
        removed: list[RemovedStatement] = []
        omitted: list[RemovedStatement] = []
        for key, into in (("removed", removed), ("omitted", omitted)):
            for item in data.get(key, []):
                stored = item.get("statement") or {"text": item["text"], "evidence": []}
                into.append(RemovedStatement(_statement(stored, refs), str(item["reason"])))
        return Article(
            question=str(data["question"]),
            title=str(data["title"]),
            question_type=QuestionType(data["question_type"]),
            condition=str(data["condition"]),
            bottom_line=tuple(_statement(s, refs) for s in data["bottom_line"]),
            sections=tuple(
                ArticleSection(
                    heading=str(sec["heading"]),
                    statements=tuple(_statement(s, refs) for s in sec["statements"]),
                    group=str(sec.get("group", "")),
                    intro=str(sec.get("intro", "")),
                )
                for sec in data["sections"]
            ),
            references=tuple(
                Reference(key=str(r["key"]), document_id=str(r["document_id"]), meta=_meta(r))
                for r in data["references"]
            ),
            abstained=bool(data["abstained"]),
            generated_at=datetime.fromisoformat(data["generated_at"]),
            library_version=str(data["library_version"]),
            audience=Audience(data.get("audience", "physician")),
            status=ReviewStatus(data.get("status", "draft")),
            abstain_reason=str(data.get("abstain_reason", "")),
            searched=tuple(data.get("searched", ())),
            suggestions=tuple(data.get("suggestions", ())),
            removed=tuple(removed),
            omitted=tuple(omitted),
            metrics={str(k): float(v) for k, v in data.get("metrics", {}).items()},
            notes=tuple(data.get("notes", ())),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"article JSON is incomplete or malformed: {exc!r}") from None
