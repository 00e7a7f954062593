"""The web pages in process (no browser): escaping, sign-in, CSRF, who may see what."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from evident.api import create_api
from evident.app import App
from evident.review.records import Role
from evident.web.session import VISITOR

SCRIPT_DOC = """---
title: "Plantar heel pain <script>alert('title')</script> leaflet"
kind: patient_information
year: 2024
---
# Plantar heel pain

Plantar heel pain <script>alert('x')</script> is treated with daily calf stretching.
Plantar heel pain <script>alert('x')</script> usually settles within a year.
"""


@pytest.fixture
def site(bm25_app: App, sample_docs: Path) -> Iterator[tuple[App, TestClient]]:
    (sample_docs / "heel-script.md").write_text(SCRIPT_DOC, "utf-8")
    assert not bm25_app.ingest([sample_docs]).failed
    bm25_app.refresh_index()
    bm25_app.settings.api.public = True
    with TestClient(create_api(bm25_app), raise_server_exceptions=False) as client:
        yield bm25_app, client


def sign_in(client: TestClient, app: App, name: str, role: Role) -> str:
    """Sign in through the form; return the page's CSRF token."""
    token = app.create_user(name, role, actor="test")[1]
    response = client.post("/signin", data={"token": token}, follow_redirects=False)
    assert response.status_code == 303
    return csrf_of(client.get("/").text)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]*)"', html)
    assert found is not None
    return found.group(1)


def ask(client: TestClient, question: str, **extra: str) -> str:
    response = client.post("/ask", data={"question": question, **extra}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def article_id_of(url: str) -> str:
    return url.split("?", 1)[0].rsplit("/", 1)[1]


def test_markup_from_a_document_is_escaped_on_its_page_and_in_citations(
    site: tuple[App, TestClient],
) -> None:
    app, client = site
    url = ask(client, "How is plantar heel pain treated?")
    html = client.get(url).text
    quotes = re.findall(r'<span class="cite-quote"[^>]*>(.*?)</span></span>', html, re.S)
    assert any("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in q for q in quotes), quotes
    assert "<script>alert" not in html
    document_id = next(d for d, meta, _ in app.store.list_documents() if "heel" in meta.title)
    page = client.get(f"/documents/{document_id}").text
    assert "Plantar heel pain &lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt; leaflet" in page
    assert "<script>alert" not in page


def test_a_visitor_s_answer_is_a_shareable_draft_they_cannot_review(
    site: tuple[App, TestClient],
) -> None:
    app, client = site
    url = ask(client, "How is a gout flare treated?")
    article_id = article_id_of(url)
    record = app.articles.get_record(article_id)
    assert (record.author, record.status.value) == (VISITOR, "draft")
    page = client.get(url)
    assert page.status_code == 200 and "Pending human review." in page.text
    with TestClient(client.app) as stranger:  # anyone with the link can read it
        assert stranger.get(url).status_code == 200
    # Visitors have no review board, and the visitor author has no token to sign in with.
    assert client.get("/review", follow_redirects=False).headers["location"] == (
        "/signin?next=/review"
    )
    refused = client.post(f"/review/{article_id}/act", data={"action": "publish"})
    assert refused.url.path == "/signin"
    assert app.articles.get_record(article_id).status.value == "draft"


def test_a_visitor_s_draft_opens_by_its_whole_id_only(site: tuple[App, TestClient]) -> None:
    app, client = site
    article_id = article_id_of(ask(client, "How is a gout flare treated?"))
    with TestClient(client.app) as stranger:
        for prefix in (article_id[:1], article_id[:2], article_id[:11]):
            guessed = stranger.get(f"/articles/{prefix}")
            assert guessed.status_code == 404, prefix
            assert f"no article {prefix!r}; run `evident articles list`" in guessed.text.replace(
                "&#39;", "'"
            )
            api = stranger.get(f"/api/v1/articles/{prefix}")
            assert api.json()["error"] == (
                f"no article {prefix!r}; run `evident articles list` to see article ids"
            )
        assert stranger.get(f"/articles/{article_id}").status_code == 200
    # A reviewer, who may see every draft anyway, can still use a prefix.
    sign_in(client, app, "rosa", Role.REVIEWER)
    assert client.get(f"/articles/{article_id[:6]}").status_code == 200


def test_an_author_s_draft_is_not_shown_to_visitors(site: tuple[App, TestClient]) -> None:
    app, client = site
    sign_in(client, app, "ann", Role.AUTHOR)
    url = ask(client, "How is a gout flare treated?", csrf=csrf_of(client.get("/").text))
    assert app.articles.get_record(article_id_of(url)).author == "ann"
    with TestClient(client.app) as visitor:
        missing = visitor.get(url)
    assert missing.status_code == 404
    assert "no article" in missing.text and "<h1>Not found</h1>" in missing.text


def test_sign_in_sets_a_strict_http_only_cookie_and_a_bad_token_is_refused(
    site: tuple[App, TestClient],
) -> None:
    app, client = site
    token = app.create_user("rosa", Role.REVIEWER, actor="test")[1]
    bad = client.post("/signin", data={"token": "nope"})
    assert bad.status_code == 401 and "That token is not valid" in bad.text
    good = client.post("/signin", data={"token": token, "next": "//evil.example"},
                       follow_redirects=False)  # fmt: skip
    assert good.headers["location"] == "/"  # never sent to another site
    cookie = good.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert client.get("/review").status_code == 200
    # Signed in, the form carries the session's CSRF token, so switching user works.
    other = app.create_user("ed", Role.EDITOR, actor="test")[1]
    form = client.get("/signin").text
    again = client.post("/signin", data={"token": other, "csrf": csrf_of(form)})
    assert again.status_code == 200 and "ed (editor)" in again.text


def test_posts_from_another_site_or_without_the_csrf_token_are_refused(
    site: tuple[App, TestClient],
) -> None:
    app, client = site
    foreign = client.post(
        "/ask", data={"question": "How is a gout flare treated?"},
        headers={"Origin": "https://evil.example"},
    )  # fmt: skip
    assert foreign.status_code == 403
    assert "refused a form posted from https://evil.example" in foreign.text
    csrf = sign_in(client, app, "ed", Role.EDITOR)
    url = ask(client, "How is a gout flare treated?", csrf=csrf)
    article_id = article_id_of(url)
    missing = client.post(f"/review/{article_id}/act", data={"action": "submit"})
    assert missing.status_code == 403 and "security token" in missing.text
    assert app.articles.get_record(article_id).status.value == "draft"
    done = client.post(f"/review/{article_id}/act", data={"action": "submit", "csrf": csrf})
    assert done.status_code == 200 and app.articles.get_record(article_id).status.value == (
        "submitted"
    )


def test_a_refused_review_action_shows_the_reason(site: tuple[App, TestClient]) -> None:
    app, client = site
    csrf = sign_in(client, app, "ed", Role.EDITOR)
    article_id = article_id_of(ask(client, "How is a gout flare treated?", csrf=csrf))
    page = client.post(f"/review/{article_id}/act", data={"action": "publish", "csrf": csrf})
    assert page.status_code == 409
    assert "cannot publish an article that is draft; it must be approved first" in page.text


def test_a_private_server_asks_visitors_to_sign_in(site: tuple[App, TestClient]) -> None:
    app, client = site
    app.settings.api.public = False
    home = client.get("/", follow_redirects=False)
    assert (home.status_code, home.headers["location"]) == (303, "/signin?next=/")
    asked = client.post("/ask", data={"question": "gout?"}, follow_redirects=False)
    assert asked.headers["location"].startswith("/signin")
    assert app.articles.list_records() == []


def test_sources_are_for_editors_and_admins(site: tuple[App, TestClient]) -> None:
    app, client = site
    sign_in(client, app, "ann", Role.AUTHOR)
    refused = client.get("/sources")
    assert refused.status_code == 403
    assert "ann (author) cannot add documents; it needs the editor role" in refused.text


def test_export_downloads_the_markdown_and_json_renderings(
    site: tuple[App, TestClient],
) -> None:
    _, client = site
    url = "/articles/" + article_id_of(ask(client, "How is a gout flare treated?"))
    md = client.get(url + "/export.md")
    assert md.headers["content-disposition"].endswith('.md"')
    assert md.text.startswith("# Treatment of Gout Flare")
    data = client.get(url + "/export.json").json()
    assert data["schema"] == "evident.article/1" and data["references"]


def test_the_api_keeps_json_errors_while_pages_get_html(site: tuple[App, TestClient]) -> None:
    _, client = site
    assert client.get("/api/v1/nope").json()["error"].startswith("no such endpoint")
    assert client.get("/no-such-page").json()["status"] == 404  # clients that want JSON
    page = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert page.status_code == 404 and "there is no page at /no-such-page" in page.text


def test_a_malformed_form_gets_a_page_and_the_api_keeps_its_json(
    site: tuple[App, TestClient],
) -> None:
    _, client = site
    page = client.post("/ask", data={"question": "gout?", "audience": "doctor"})
    assert page.status_code == 422
    assert "the form was not filled in as expected (audience)" in page.text
    api = client.post("/api/v1/ask", json={"question": "gout?", "audience": "doctor"})
    assert api.status_code == 422 and api.json()["error"].startswith("invalid request:")


REFUSED = "What is the first-line treatment for acute otitis media?"


def test_an_abstention_says_so_and_what_to_add(site: tuple[App, TestClient]) -> None:
    _, client = site
    page = client.get(ask(client, REFUSED))
    assert page.status_code == 200
    assert "Not enough evidence" in page.text and "What to add to the library" in page.text
    assert 'class="cite-link"' not in page.text
    # A refusal is not waiting for a clinician: it says there is nothing to review.
    assert "Pending human review." not in page.text and 'class="steps"' not in page.text
    assert "no article was written and there is nothing for a clinician to review" in page.text


def board_section(html: str, caption: str) -> str:
    """The part of the review board under one heading."""
    found = re.search(rf"<h2[^>]*>{re.escape(caption)} \((\d+)\)</h2>(.*?)</section>", html, re.S)
    assert found is not None, caption
    return found.group(2)


def test_refused_questions_stay_off_the_review_board_s_queues(
    site: tuple[App, TestClient],
) -> None:
    app, client = site
    refused = article_id_of(ask(client, REFUSED))
    answered = article_id_of(ask(client, "How is a gout flare treated?"))
    csrf = sign_in(client, app, "ed", Role.EDITOR)
    board = client.get("/review").text
    visitors = board_section(board, "Recent questions from visitors (drafts)")
    assert answered in visitors and refused not in visitors
    for caption in ("Review queue", "Drafts and changes requested"):
        assert refused not in board_section(board, caption), caption
    # Apart from the queues, editors see what the library could not answer.
    gaps = board_section(board, "Questions the library could not answer")
    assert f'href="/articles/{refused}"' in gaps and "acute otitis media" in gaps
    # Its page on the board offers nothing to do but retract, and a submit is refused.
    page = client.get(f"/review/{refused}").text
    assert 'value="submit"' not in page and 'value="retract"' in page
    tried = client.post(f"/review/{refused}/act", data={"action": "submit", "csrf": csrf})
    assert tried.status_code == 409 and "it is a refusal" in tried.text
    assert app.articles.get_record(refused).status.value == "draft"
    assert (
        client.post(f"/review/{answered}/act", data={"action": "submit", "csrf": csrf}).status_code
        == 200
    )
    queue = board_section(client.get("/review").text, "Review queue")
    assert answered in queue and refused not in queue


def test_an_upload_that_fails_shows_on_the_sources_page(site: tuple[App, TestClient]) -> None:
    app, client = site
    csrf = sign_in(client, app, "ed", Role.EDITOR)
    refused = client.post(
        "/sources", data={"csrf": csrf}, files={"file": ("notes.exe", b"MZ\x90\x00", "x/y")}
    )
    assert refused.status_code == 415 and "notes.exe" in refused.text
    sent = client.post(
        "/sources",
        data={"csrf": csrf},
        files={"file": ("broken.pdf", b"%PDF-1.4 not really a pdf", "application/pdf")},
    )
    assert sent.status_code == 200  # redirected to the jobs list; the ingest ran meanwhile
    failed = re.search(r'<tr id="job-\w+" data-job-status="(\w+)"><td>broken.pdf</td>', sent.text)
    assert failed is not None and failed.group(1) == "failed"
    (error,) = re.findall(r'class="error-text">([^<]*)<', sent.text)
    assert error.endswith(
        "broken.pdf: not a readable PDF: Stream has ended unexpectedly; the file is damaged or "
        "truncated, download or export it again"
    )


def _events(body: str) -> list[tuple[str, dict[str, object]]]:
    out = []
    for block in body.strip().split("\n\n"):
        kind = re.search(r"^event: (.*)$", block, re.M)
        data = re.search(r"^data: (.*)$", block, re.M)
        assert kind and data, block
        out.append((kind.group(1), json.loads(data.group(1))))
    return out


def test_the_ask_stream_sends_verified_statements_then_the_saved_article(
    site: tuple[App, TestClient],
) -> None:
    _, client = site
    with client.stream(
        "POST", "/ask/stream", data={"question": "How is plantar heel pain treated?"}
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = _events(response.read().decode())
    kinds = [k for k, _ in events]
    assert kinds[-1] == "done" and kinds.count("statement") >= 2, kinds
    url = str(events[-1][1]["url"])
    page = client.get(url).text
    # Every streamed statement is in the article the reader is sent to.
    for kind, data in events:
        if kind == "statement":
            statement = data["statement"]
            assert isinstance(statement, dict)
            assert str(escape(statement["text"])) in page


def test_the_ask_stream_ends_with_a_clear_error_for_an_empty_question(
    site: tuple[App, TestClient],
) -> None:
    _, client = site
    with client.stream("POST", "/ask/stream", data={"question": "   "}) as response:
        events = _events(response.read().decode())
    assert events[-1][0] == "error"
    assert "question is empty" in str(events[-1][1]["error"])
