"""`evident mcp` end to end: the real server over stdio, driven by the MCP SDK's client."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import anyio
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult

from evident.localserver import free_port, stop
from serving import EVIDENT, PublishedDemo

T = TypeVar("T")


@asynccontextmanager
async def session(demo: PublishedDemo, token: str | None = None) -> AsyncIterator[ClientSession]:
    """Start `evident --library LIB mcp` as a subprocess and open a client session to it."""
    env = dict(demo.env)
    if token is not None:
        env["EVIDENT_MCP_TOKEN"] = token
    params = StdioServerParameters(
        command=str(EVIDENT), args=["--library", str(demo.library), "mcp"], env=env
    )
    async with (
        stdio_client(params) as (read, write),
        ClientSession(read, write, read_timeout_seconds=120) as client,
    ):
        await client.initialize()
        yield client


def run(work: Callable[[], Awaitable[T]]) -> T:
    async def bounded() -> T:
        with anyio.fail_after(240):
            return await work()

    return anyio.run(bounded)


def wait_until_port(port: int, process: subprocess.Popen[bytes], timeout_s: float) -> bool:
    """Wait until something listens on 127.0.0.1:port (False if the process exits first)."""
    deadline = time.monotonic() + timeout_s
    while process.poll() is None and time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.2)
    return False


def payload(result: CallToolResult) -> dict[str, Any]:
    """The tool's JSON result; the text content and the structured content agree."""
    assert result.structured_content is not None
    return result.structured_content


def test_lists_the_four_tools_with_descriptions(published_demo: PublishedDemo) -> None:
    async def work() -> Any:
        async with session(published_demo) as client:
            return await client.list_tools()

    tools = {tool.name: tool for tool in run(work).tools}

    assert set(tools) == {"search_library", "ask", "get_article", "get_document"}
    assert all((tool.description or "").strip() for tool in tools.values())
    assert set(tools["ask"].input_schema["properties"]) == {"question", "audience", "format"}


def test_search_returns_passages_with_citation_keys_and_document_metadata(
    published_demo: PublishedDemo,
) -> None:
    async def work() -> CallToolResult:
        async with session(published_demo) as client:
            return await client.call_tool(
                "search_library", {"query": "colchicine for a gout flare", "k": 3}
            )

    result = run(work)
    found = payload(result)

    assert not result.is_error
    assert json.loads(result.content[0].text) == found  # type: ignore[union-attr]
    assert found["status"] == "source" and "not a reviewed article" in found["status_label"]
    assert len(found["passages"]) == 3
    first = found["passages"][0]
    assert "colchicine" in first["text"].lower()
    assert first["citation_key"] == first["document"]["document_id"][:10]
    assert first["document"]["title"] and first["document"]["kind"] and first["document"]["year"]


def test_ask_returns_the_published_article_as_markdown_with_citations(
    published_demo: PublishedDemo,
) -> None:
    async def work() -> CallToolResult:
        async with session(published_demo, published_demo.tokens["rita"]) as client:
            return await client.call_tool("ask", {"question": "How is a gout flare treated?"})

    result = run(work)
    found = payload(result)
    markdown = result.content[0].text  # type: ignore[union-attr]

    assert not result.is_error
    assert found["source"] == "published"
    assert found["article_id"] == published_demo.published["gout"]
    assert found["status"] == "published" and found["status_label"] == "Approved and published"
    assert found["reviewed_by"] == "bob"
    assert markdown == found["markdown"]
    assert "*Approved and published ·" in markdown
    assert "[1]" in markdown and "## References" in markdown


def test_ask_as_json_keeps_statements_and_references(published_demo: PublishedDemo) -> None:
    async def work() -> CallToolResult:
        async with session(published_demo) as client:
            return await client.call_tool(
                "ask",
                {"question": "How is a gout flare treated?", "format": "json"},
            )

    article = payload(run(work))["article"]

    assert article["status"] == "published"
    keys = {ref["key"] for ref in article["references"]}
    statements = article["bottom_line"] + [
        s for section in article["sections"] for s in section["statements"]
    ]
    assert statements and all(s["citations"] for s in statements)
    assert {key for s in statements for key in s["citations"]} <= keys


def test_a_reader_sees_no_drafts(published_demo: PublishedDemo) -> None:
    async def work() -> list[CallToolResult]:
        async with session(published_demo, published_demo.tokens["rita"]) as client:
            return [
                await client.call_tool("ask", {"question": published_demo.draft_question}),
                await client.call_tool("get_article", {"article_id": published_demo.draft}),
            ]

    asked, fetched = run(work)

    assert asked.is_error and fetched.is_error
    assert payload(asked) == {
        "ok": False,
        "error": f"no published article answers {published_demo.draft_question!r} yet, and "
        "rita (reader) may see published articles only; search the library's passages "
        "instead, or ask an author to compose an article for review",
        "errors": [],
        "status": 404,
    }
    assert payload(fetched)["status"] == 404
    assert published_demo.draft in payload(fetched)["error"]


def test_no_token_reads_like_a_reader(published_demo: PublishedDemo) -> None:
    async def work() -> CallToolResult:
        async with session(published_demo) as client:
            return await client.call_tool("get_article", {"article_id": published_demo.draft})

    result = run(work)

    assert result.is_error and payload(result)["status"] == 404


def test_an_author_gets_drafts_marked_pending_human_review(published_demo: PublishedDemo) -> None:
    async def work() -> list[CallToolResult]:
        async with session(published_demo, published_demo.tokens["ann"]) as client:
            return [
                await client.call_tool("get_article", {"article_id": published_demo.draft[:8]}),
                await client.call_tool(
                    "ask", {"question": published_demo.draft_question, "format": "json"}
                ),
            ]

    saved, fresh = (payload(r) for r in run(work))

    assert saved["article_id"] == published_demo.draft
    assert saved["status"] == "draft" and saved["status_label"] == "Pending human review"
    assert "*Pending human review ·" in saved["markdown"]
    assert fresh["source"] == "fresh" and fresh["status_label"] == "Pending human review"
    assert fresh["article"]["status_label"] == "Pending human review"


def test_an_unknown_document_is_a_clear_error(published_demo: PublishedDemo) -> None:
    async def work() -> CallToolResult:
        async with session(published_demo) as client:
            return await client.call_tool("get_document", {"document_id": "0000nope"})

    result = run(work)

    assert result.is_error
    assert payload(result) == {
        "ok": False,
        "error": "no document '0000nope' in the library; search_library gives the document "
        "ids and citation keys of its passages",
        "errors": [],
        "status": 404,
    }
    assert json.loads(result.content[0].text) == payload(result)  # type: ignore[union-attr]


def test_get_document_by_citation_key_returns_metadata_and_passages(
    published_demo: PublishedDemo,
) -> None:
    async def work() -> tuple[CallToolResult, CallToolResult]:
        async with session(published_demo) as client:
            found = await client.call_tool("search_library", {"query": "gout flare", "k": 1})
            key = payload(found)["passages"][0]["citation_key"]
            return found, await client.call_tool("get_document", {"document_id": key})

    found, document = (payload(r) for r in run(work))
    hit = found["passages"][0]

    assert document["document"] == hit["document"]
    assert document["status"] == "source"
    assert hit["chunk_id"] in {p["chunk_id"] for p in document["passages"]}


def test_bad_arguments_are_errors_in_the_one_shape(published_demo: PublishedDemo) -> None:
    async def work() -> list[CallToolResult]:
        async with session(published_demo) as client:
            return [
                await client.call_tool(
                    "ask", {"question": "How is a gout flare treated?", "audience": "surgeon"}
                ),
                await client.call_tool(
                    "get_article", {"article_id": published_demo.published["gout"], "format": "pdf"}
                ),
                await client.call_tool("search_library", {"query": "gout", "k": 500}),
                await client.call_tool("search_library", {"query": "  "}),
            ]

    results = run(work)

    assert all(r.is_error for r in results)
    assert [payload(r)["error"] for r in results] == [
        "audience 'surgeon' is not known; use one of: physician, nurse, student, patient",
        "format 'pdf' is not known; use one of: markdown, json",
        "k must be between 1 and 50, not 500",
        "the query is empty; give a question or keywords",
    ]
    assert {
        (payload(r)["ok"], payload(r)["status"], payload(r)["errors"] == []) for r in results
    } == {(False, 400, True)}


def test_an_invalid_token_stops_the_server_with_one_line(published_demo: PublishedDemo) -> None:
    done = subprocess.run(
        [str(EVIDENT), "--library", str(published_demo.library), "mcp", "--token", "wrong"],
        env=published_demo.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 1
    assert done.stdout == ""
    assert "error: the MCP token is not a valid API token" in done.stderr


def test_streamable_http_serves_the_same_tools(
    published_demo: PublishedDemo, tmp_path: Path
) -> None:
    port = free_port()
    env = {**published_demo.env, "EVIDENT_MCP_TOKEN": published_demo.tokens["rita"]}
    args = ["--library", str(published_demo.library), "mcp", "--http", "--port", str(port)]
    with (tmp_path / "mcp.log").open("w") as log:
        process = subprocess.Popen([str(EVIDENT), *args], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}/mcp"

    async def work() -> CallToolResult:
        async with (
            streamable_http_client(url) as (read, write),
            ClientSession(read, write, read_timeout_seconds=120) as client,
        ):
            await client.initialize()
            return await client.call_tool("ask", {"question": "How is a gout flare treated?"})

    try:
        assert wait_until_port(port, process, 60), (tmp_path / "mcp.log").read_text()
        found = payload(run(work))
    finally:
        stop(process, 20)

    assert found["article_id"] == published_demo.published["gout"]
    assert found["status_label"] == "Approved and published"
    assert "for rita (reader) on http://127.0.0.1:" in (tmp_path / "mcp.log").read_text()


def test_the_documented_client_configuration_starts_the_server(
    published_demo: PublishedDemo,
) -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "integrations.md").read_text()
    block = re.search(r"<!-- mcp-config -->\n```json\n(.*?)```", text, flags=re.S)
    assert block
    server = json.loads(block.group(1))["mcpServers"]["evident"]
    args = [
        str(published_demo.library) if a == "/srv/evident/library" else a for a in server["args"]
    ]
    env = {
        **published_demo.env,
        **server["env"],
        "EVIDENT_MCP_TOKEN": published_demo.tokens["rita"],
    }
    assert Path(server["command"]).name == EVIDENT.name and set(server["env"]) == {
        "EVIDENT_MCP_TOKEN"
    }

    async def work() -> Any:
        params = StdioServerParameters(command=str(EVIDENT), args=args, env=env)
        async with (
            stdio_client(params) as (read, write),
            ClientSession(read, write, read_timeout_seconds=120) as client,
        ):
            await client.initialize()
            return await client.list_tools()

    assert {tool.name for tool in run(work).tools} == {
        "search_library",
        "ask",
        "get_article",
        "get_document",
    }
