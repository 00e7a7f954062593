"""Web security: headers and a CSP the pages pass, opaque origins, sign-in limits, and
sessions that expire and end when the user signs out."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from evident.api import create_api
from evident.app import App
from evident.review.records import Role

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


@pytest.fixture
def site(lib: App) -> Iterator[tuple[App, TestClient]]:
    lib.settings.api.public = True
    with TestClient(create_api(lib), raise_server_exceptions=False) as client:
        yield lib, client


def sign_in(client: TestClient, token: str) -> None:
    response = client.post("/signin", data={"token": token}, follow_redirects=False)
    assert response.status_code == 303, response.text


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]*)"', html)
    assert found is not None
    return found.group(1)


def test_every_response_carries_the_security_headers(site: tuple[App, TestClient]) -> None:
    app, client = site
    token = app.create_user("eve", Role.EDITOR, actor="test")[1]
    sign_in(client, token)
    answer = client.post("/ask", data={"question": "How is a gout flare treated?",
                                       "csrf": csrf_of(client.get("/").text)})  # fmt: skip
    for response in (
        client.get("/"),
        answer,
        client.get("/review"),
        client.get("/sources"),
        client.get("/static/app.js"),
        client.get("/api/v1/health"),
        client.get("/no-such-page", headers={"Accept": "text/html"}),
    ):
        assert response.headers["content-security-policy"] == CSP, response.url
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"


def test_the_pages_have_no_inline_script_style_or_handler(site: tuple[App, TestClient]) -> None:
    """What the CSP would block: the pages must not need any of it."""
    app, client = site
    token = app.create_user("eve", Role.EDITOR, actor="test")[1]
    sign_in(client, token)
    csrf = csrf_of(client.get("/").text)
    article = client.post("/ask", data={"question": "How is a gout flare treated?", "csrf": csrf})
    article_id = str(article.url).split("?")[0].rsplit("/", 1)[1]
    pages = [client.get(p).text for p in ("/", "/library", "/review", "/sources", "/signin")]
    pages += [article.text, client.get(f"/review/{article_id}").text]
    for html in pages:
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
        assert "<style" not in html
        assert not re.search(r"\sstyle=", html)
        assert not re.search(r"\son[a-z]+=", html)
        assert "javascript:" not in html


def test_a_post_from_an_opaque_origin_is_refused(site: tuple[App, TestClient]) -> None:
    app, client = site

    refused = client.post(
        "/ask", data={"question": "How is a gout flare treated?"}, headers={"Origin": "null"}
    )

    assert refused.status_code == 403
    assert (
        "refused a form posted from an opaque origin (Origin: null, such as a sandboxed frame "
        "or a local file); submit the form from this site&#39;s own pages"
    ) in refused.text
    assert app.articles.list_records() == []


def test_failed_sign_ins_are_limited_per_client(site: tuple[App, TestClient]) -> None:
    app, client = site
    app.settings.api.signin_attempts = 3
    token = app.create_user("eve", Role.EDITOR, actor="test")[1]
    for _ in range(3):
        assert client.post("/signin", data={"token": "guess"}).status_code == 401

    refused = client.post("/signin", data={"token": token}, follow_redirects=False)

    assert refused.status_code == 429
    assert re.search(
        r"too many failed sign-ins from testclient \(3 in 300 s\); wait \d+ s and try again, "
        r"or ask an admin for a new token \(evident users token NAME\)",
        refused.text,
    ), refused.text
    assert "evident_session" not in refused.headers.get("set-cookie", "")


def test_signing_out_revokes_the_session(site: tuple[App, TestClient]) -> None:
    app, client = site
    token = app.create_user("eve", Role.EDITOR, actor="test")[1]
    sign_in(client, token)
    session_cookie = client.cookies["evident_session"]
    assert session_cookie != token  # the cookie is a session of its own, not the API token

    client.post("/signout", data={"csrf": csrf_of(client.get("/").text)})

    with TestClient(client.app) as copy:
        copy.cookies.set("evident_session", session_cookie)
        assert copy.get("/review", follow_redirects=False).headers["location"] == (
            "/signin?next=/review"
        )
    assert app.authenticate(token) is not None  # the API token itself still works


def test_a_session_expires(site: tuple[App, TestClient]) -> None:
    app, client = site
    app.settings.api.session_hours = 1 / 3600
    token = app.create_user("eve", Role.EDITOR, actor="test")[1]
    sign_in(client, token)
    session_cookie = client.cookies["evident_session"]
    assert client.get("/review", follow_redirects=False).status_code == 200

    time.sleep(1.2)

    # Even a browser that kept the cookie past its max-age is signed out by the server.
    with TestClient(client.app) as kept:
        kept.cookies.set("evident_session", session_cookie)
        assert kept.get("/review", follow_redirects=False).headers["location"] == (
            "/signin?next=/review"
        )


def test_api_tokens_expire_and_can_be_revoked(site: tuple[App, TestClient], run_cli) -> None:  # type: ignore[no-untyped-def]
    app, client = site
    app.settings.api.token_days = 0.5 / 86400
    _, short = app.create_user("ann", Role.AUTHOR, actor="test")
    app.settings.api.token_days = 90
    _, token = app.create_user("bob", Role.REVIEWER, actor="test")
    second = app.issue_token("bob", actor="test")
    time.sleep(0.6)

    expired = client.get("/api/v1/articles", headers={"Authorization": f"Bearer {short}"})
    assert expired.status_code == 401
    assert client.get("/api/v1/articles", headers={"Authorization": f"Bearer {token}"}).is_success

    result = run_cli("users", "revoke", "bob")

    assert result.exit_code == 0, result.output
    assert result.output.strip() == "revoked 2 tokens of bob"
    for revoked in (token, second):
        refused = client.get("/api/v1/articles", headers={"Authorization": f"Bearer {revoked}"})
        assert refused.status_code == 401
    assert app.articles.events()[-1].action == "revoke_tokens"
