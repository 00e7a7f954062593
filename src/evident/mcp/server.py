"""The MCP tool server: the library, answers and articles as tools for MCP clients.

`evident mcp` runs it over stdio (the default) or streamable HTTP. The server acts as
one user, named by an API token (`--token` or EVIDENT_MCP_TOKEN): readers, and clients
without a token, see published articles only; authors and up also see drafts, which
carry the status "Pending human review". Every result says its review status, and every
statement keeps its citations. Errors have the API's shape: {"ok": false, "error",
"errors", "status"}.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, TextContent

from evident import __version__
from evident.app import App
from evident.compose.render import STATUS_LABEL, to_json, to_markdown
from evident.errors import EvidentError, InvalidInput, NotFound, error_body, status_for
from evident.models import Article, Audience, DocumentMeta, Hit
from evident.review.records import ArticleRecord, User

SOURCE_STATUS = "source"
SOURCE_LABEL = "Library passages, quoted as stored; not a reviewed article"
FORMATS = ("markdown", "json")

INSTRUCTIONS = """\
evident answers clinical questions from its own library of guidelines and research, with
a numbered citation after every statement. Quote statements with their citations; never
drop them. An article whose status is not "published" is pending human review: say so
whenever you use it. evident has not examined the patient; its articles support a
clinician's judgement and never replace it.
"""

Payload = tuple[dict[str, Any], str]


def build_server(app: App, viewer: User) -> MCPServer:
    """Return an MCP server whose tools answer from `app` with what `viewer` may see."""
    server: MCPServer = MCPServer(
        name="evident", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING"
    )

    @server.tool()
    def search_library(query: str, k: int = 8) -> CallToolResult:
        """Search the library's passages (guidelines, research, textbook chapters).

        Returns the k best passages, each with its citation key, passage id and its
        document's metadata (title, kind of evidence, source, year, PMID/DOI/URL).
        Passages are library sources, not reviewed answers.
        """
        return _respond(lambda: _search(app, query, k))

    @server.tool()
    def ask(question: str, audience: str = "physician", format: str = "markdown") -> CallToolResult:
        """Answer a clinical question with a cited article.

        A published (reviewed) article that answers the question comes first. Otherwise
        authors and up get a freshly composed draft, marked "Pending human review";
        readers get an error saying no published article answers it yet.

        Args:
            question: the clinical question.
            audience: physician (default), nurse, student or patient.
            format: "markdown" (the article with numbered citations and references) or
                "json" (statements, their citations and the reference list).
        """
        return _respond(lambda: _ask(app, viewer, question, audience, format))

    @server.tool()
    def get_article(article_id: str, format: str = "markdown") -> CallToolResult:
        """Return a saved article by id (a unique prefix is enough), with its review status.

        Readers see published articles only; authors also see their own drafts, reviewers
        and up every article.

        Args:
            format: "markdown" or "json" (statements with citations and references).
        """
        return _respond(lambda: _get_article(app, viewer, article_id, format))

    @server.tool()
    def get_document(document_id: str) -> CallToolResult:
        """Return one library document: its metadata and its passages with their ids.

        The id is the document id or its citation key (the first ten characters), as
        search_library and article references give them.
        """
        return _respond(lambda: _get_document(app, document_id))

    return server


def _respond(work: Callable[[], Payload]) -> CallToolResult:
    """Run a tool; an evident error becomes an error result in the one error shape."""
    try:
        payload, text = work()
    except EvidentError as exc:
        body = error_body(status_for(exc), " ".join(str(exc).split()))
        return CallToolResult(
            content=[TextContent(type="text", text=json.dumps(body, ensure_ascii=False))],
            structured_content=body,
            is_error=True,
        )
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=payload)


def _as_json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, indent=1)


def _check_format(value: str) -> str:
    if value not in FORMATS:
        raise InvalidInput(f"format {value!r} is not known; use one of: {', '.join(FORMATS)}")
    return value


def _audience(value: str) -> Audience:
    try:
        return Audience(value.strip().lower())
    except ValueError:
        choices = ", ".join(a.value for a in Audience)
        raise InvalidInput(f"audience {value!r} is not known; use one of: {choices}") from None


def _document(document_id: str, meta: DocumentMeta) -> dict[str, Any]:
    return {
        "document_id": document_id,
        "citation_key": document_id[:10],
        "title": meta.title,
        "kind": meta.kind.value,
        "source": meta.source,
        "year": meta.year,
        "authors": list(meta.authors),
        "pmid": meta.pmid,
        "doi": meta.doi,
        "url": meta.url,
        "grade": meta.grade,
        "conditions": list(meta.conditions),
    }


def _passage(hit: Hit) -> dict[str, Any]:
    return {
        "citation_key": hit.document_id[:10],
        "chunk_id": hit.chunk.chunk_id,
        "section": hit.chunk.section,
        "text": hit.chunk.text,
        "score": round(hit.score, 4),
        "document": _document(hit.document_id, hit.document),
    }


def _search(app: App, query: str, k: int) -> Payload:
    if not 1 <= k <= 50:
        raise InvalidInput(f"k must be between 1 and 50, not {k}")
    if not query.strip():
        raise InvalidInput("the query is empty; give a question or keywords")
    payload = {
        "ok": True,
        "status": SOURCE_STATUS,
        "status_label": SOURCE_LABEL,
        "query": query,
        "passages": [_passage(h) for h in app.search(query, k=k)],
    }
    return payload, _as_json(payload)


def _article_payload(
    article: Article, record: ArticleRecord | None, fmt: str, source: str
) -> Payload:
    payload: dict[str, Any] = {
        "ok": True,
        "source": source,
        "article_id": record.article_id if record else None,
        "status": article.status.value,
        "status_label": STATUS_LABEL[article.status],
        "revision": record.revision if record else None,
        "reviewed_by": record.reviewed_by if record else None,
        "reviewed_at": record.reviewed_at.isoformat() if record and record.reviewed_at else None,
        "published_at": (
            record.published_at.isoformat() if record and record.published_at else None
        ),
    }
    if fmt == "json":
        payload["article"] = to_json(article)
        return payload, _as_json(payload)
    markdown = to_markdown(article)
    payload["markdown"] = markdown
    return payload, markdown


def _ask(app: App, viewer: User, question: str, audience: str, fmt: str) -> Payload:
    fmt = _check_format(fmt)
    answer = app.answer_for(question, _audience(audience), viewer)
    return _article_payload(answer.article, answer.record, fmt, answer.source)


def _get_article(app: App, viewer: User, article_id: str, fmt: str) -> Payload:
    fmt = _check_format(fmt)
    stored = app.editorial.get(article_id.strip(), viewer)
    return _article_payload(stored.article, stored.record, fmt, "saved")


def _get_document(app: App, document_id: str) -> Payload:
    if not document_id.strip():
        raise InvalidInput("the document id is empty; search_library gives document ids")
    try:
        doc = app.store.get_document(document_id.strip())
    except NotFound:
        raise NotFound(
            f"no document {document_id!r} in the library; search_library gives the document "
            "ids and citation keys of its passages"
        ) from None
    payload = {
        "ok": True,
        "status": SOURCE_STATUS,
        "status_label": SOURCE_LABEL,
        "document": _document(doc.document_id, doc.meta),
        "passages": [
            {"chunk_id": c.chunk_id, "section": c.section, "text": c.text}
            for c in app.store.chunks_for(doc.document_id)
        ],
    }
    return payload, _as_json(payload)
