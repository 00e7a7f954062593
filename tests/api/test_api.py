"""The REST API in-process: auth, one error shape, roles, the review lifecycle, OpenAPI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from api_helpers import QUESTION, act, call, error, publish, save_draft
from fastapi.testclient import TestClient

from evident.api import create_api
from evident.api.main import openapi_document, openapi_text
from evident.app import App
from evident.errors import BackendUnavailable
from evident.review.records import Role
from evident.review.workflow import TRANSITIONS

REPO = Path(__file__).resolve().parents[2]


def test_health_needs_no_token(client: TestClient, lib: App) -> None:
    response = call(client, "GET", "/health")

    assert response.status_code == 200
    assert response.json() == {
        "ok": True,
        "version": "0.1.0",
        "documents": 3,
        "passages": lib.store.count_chunks(),
        "library_version": lib.store.library_version(),
        "published_articles": 0,
        "public": False,
    }


def test_a_private_server_wants_a_valid_token(client: TestClient, tokens: dict[str, str]) -> None:
    missing = call(client, "GET", "/articles")
    wrong = call(client, "GET", "/articles", "not-a-token")

    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert missing.json() == error(
        401,
        "authentication required: send 'Authorization: Bearer TOKEN' (an admin creates tokens "
        "with `evident users token NAME`)",
    )
    assert wrong.status_code == 401
    assert wrong.json() == error(
        401, "the API token is not valid; ask an admin for a new one (`evident users token NAME`)"
    )
    assert call(client, "GET", "/articles", tokens["rita"]).status_code == 200


def test_a_public_server_shows_anonymous_visitors_published_articles_only(
    client: TestClient, lib: App, tokens: dict[str, str]
) -> None:
    published = save_draft(client, tokens["ann"])
    publish(client, tokens, published)
    draft = save_draft(client, tokens["ann"], "How is heel pain treated?")
    lib.settings.api.public = True

    listed = call(client, "GET", "/articles")
    hidden = call(client, "GET", f"/articles/{draft}")
    answer = call(
        client, "POST", "/ask", json={"question": "What is the treatment for a gout flare?"}
    )
    save = call(client, "POST", "/ask", json={"question": QUESTION, "save": True, "fresh": True})

    assert [a["article_id"] for a in listed.json()["items"]] == [published]
    assert hidden.status_code == 404
    assert hidden.json() == error(
        404, f"no article '{draft}'; run `evident articles list` to see article ids"
    )
    assert answer.json()["source"] == "published"
    assert save.status_code == 403
    assert save.json() == error(
        403, "anonymous (reader) cannot save articles; it needs the author role or higher"
    )


def test_every_error_has_one_shape(
    client: TestClient, lib: App, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rita = tokens["rita"]
    unknown = client.get("/no/such/route")
    wrong_method = client.delete("/api/v1/health")
    invalid = call(client, "POST", "/ask", rita, json={"question": 42, "extra": 1})

    assert unknown.status_code == 404
    assert unknown.json() == error(404, "no such endpoint: GET /no/such/route; see /docs")
    assert wrong_method.status_code == 405
    assert wrong_method.json() == error(405, "DELETE is not allowed on /api/v1/health; see /docs")
    assert invalid.status_code == 422
    body = invalid.json()
    assert body["ok"] is False and body["status"] == 422
    assert body["error"] == (
        "invalid request: question: Input should be a valid string; "
        "extra: Extra inputs are not permitted"
    )
    assert body["errors"] == [
        {
            "loc": ["body", "question"],
            "message": "Input should be a valid string",
            "type": "string_type",
        },
        {
            "loc": ["body", "extra"],
            "message": "Extra inputs are not permitted",
            "type": "extra_forbidden",
        },
    ]

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(lib, "search", boom)
    crash = call(client, "GET", "/search", rita, params={"q": "gout"})
    assert crash.status_code == 500
    assert crash.json() == error(
        500, "internal server error; the server log has the details", ["RuntimeError"]
    )

    def down(*args: object, **kwargs: object) -> None:
        raise BackendUnavailable("the index is being rebuilt; retry in a minute")

    monkeypatch.setattr(lib, "search", down)
    unavailable = call(client, "GET", "/search", rita, params={"q": "gout"})
    assert unavailable.status_code == 503
    assert unavailable.json() == error(503, "the index is being rebuilt; retry in a minute")


def test_the_review_lifecycle_over_http(client: TestClient, tokens: dict[str, str]) -> None:
    ann, bob, eve, rita = tokens["ann"], tokens["bob"], tokens["eve"], tokens["rita"]
    article_id = save_draft(client, ann)

    refused = act(client, article_id, "approve", bob)
    assert refused.status_code == 409
    assert refused.json() == error(
        409, "cannot approve an article that is draft; it must be under review first"
    )
    assert act(client, article_id, "submit", ann).json()["status"] == "submitted"
    queue = call(client, "GET", "/review/queue", bob).json()
    assert [a["article_id"] for a in queue["items"]] == [article_id]
    claimed = act(client, article_id, "claim", bob).json()
    assert (claimed["status"], claimed["reviewer"]) == ("under_review", "bob")

    comment = call(
        client, "POST", f"/articles/{article_id}/comments", bob,
        json={"comment": "Say when to start.", "target": "s1.1"},
    )  # fmt: skip
    assert comment.status_code == 201
    edit = call(
        client, "POST", f"/articles/{article_id}/edits", bob,
        json={"target": "s1.1", "text": "Treatment of a gout flare works best when started "
              "within 24 hours.", "note": "shorter"},
    )  # fmt: skip
    assert edit.status_code == 201 and edit.json()["info"]["revision"] == 2
    unsupported = call(
        client, "POST", f"/articles/{article_id}/edits", bob,
        json={"target": "s1.1", "text": "Gout flares resolve with aspirin and bed rest."},
    )  # fmt: skip
    assert unsupported.status_code == 400
    assert "the source does not say this: passage " in unsupported.json()["error"]
    reversed_edit = call(
        client, "POST", f"/articles/{article_id}/edits", bob,
        json={"target": "s1.1", "text": "Treatment of a gout flare does not work best when "
              "started within 24 hours."},
    )  # fmt: skip
    assert reversed_edit.status_code == 400
    assert reversed_edit.json()["error"].startswith(
        "edit refused: statement s1.1: the source says the opposite: passage "
    )
    assert (
        "(the statement negates 'work', which the passage states)"
        in (reversed_edit.json()["error"])
    )

    diff = call(client, "GET", f"/articles/{article_id}/diff", bob).json()
    assert (diff["from_revision"], diff["to_revision"]) == (1, 2)
    assert (
        "+- Treatment of a gout flare works best when started within 24 hours. [1]" in diff["diff"]
    )
    revisions = call(client, "GET", f"/articles/{article_id}/revisions", bob).json()
    assert [(r["revision"], r["author"], r["note"]) for r in revisions["items"]] == [
        (1, "ann", "generated by evident"),
        (2, "bob", "shorter"),
    ]
    first = call(client, "GET", f"/articles/{article_id}/revisions/1", bob).json()
    assert "24 hours of the first symptoms" in json.dumps(first["article"])

    assert act(client, article_id, "approve", bob).json()["status"] == "approved"
    assert call(client, "GET", f"/articles/{article_id}", rita).status_code == 404
    published = act(client, article_id, "publish", eve).json()
    assert published["status"] == "published" and published["reviewed_by"] == "bob"

    answer = call(client, "POST", "/ask", rita, json={"question": "How do you treat a gout flare?"})
    body = answer.json()
    assert body["source"] == "published" and body["info"]["article_id"] == article_id
    assert body["article"]["status_label"] == "Approved and published"
    assert body["info"]["reviewed_at"] is not None
    fresh = call(client, "POST", "/ask", rita, json={"question": QUESTION, "fresh": True}).json()
    assert fresh["source"] == "fresh" and fresh["info"] is None

    shown = call(client, "GET", f"/articles/{article_id}", rita, params={"markdown": True}).json()
    assert shown["info"]["status"] == "published"
    assert shown["markdown"].startswith("# ")
    events = call(client, "GET", f"/articles/{article_id}/events", eve).json()["items"]
    assert [(e["actor"], e["action"], e["target"]) for e in events] == [
        ("ann", "create", ""),
        ("ann", "submit", ""),
        ("bob", "claim", ""),
        ("bob", "comment", "s1.1"),
        ("bob", "edit", "s1.1"),
        ("bob", "approve", ""),
        ("eve", "publish", ""),
    ]
    assert call(client, "GET", f"/articles/{article_id}/events", rita).status_code == 403


@pytest.mark.parametrize("action", list(TRANSITIONS))
def test_roles_below_each_action_get_403(
    client: TestClient, tokens: dict[str, str], action: str
) -> None:
    article_id = save_draft(client, tokens["ann"])
    step = TRANSITIONS[action]
    path = action.replace("_", "-")
    for name, role in [("rita", Role.READER), ("ann", Role.AUTHOR), ("bob", Role.REVIEWER)]:
        if role.at_least(step.role):
            continue
        response = act(client, article_id, path, tokens[name], "why")
        assert response.status_code == 403, (action, name)
        assert response.json() == error(
            403,
            f"{name} ({role.value}) cannot {step.verb} articles; it needs the "
            f"{step.role.value} role or higher",
        )


def test_readers_see_only_published_articles(client: TestClient, tokens: dict[str, str]) -> None:
    draft = save_draft(client, tokens["ann"])
    done = save_draft(client, tokens["ann"], "How is heel pain treated?")
    publish(client, tokens, done)

    for name in ("rita", "amir"):
        listed = call(client, "GET", "/articles", tokens[name]).json()
        assert [a["article_id"] for a in listed["items"]] == [done]
        assert call(client, "GET", f"/articles/{draft}", tokens[name]).status_code == 404
        assert call(client, "GET", f"/articles/{draft}/revisions", tokens[name]).status_code == 404
    mine = call(client, "GET", "/articles", tokens["ann"]).json()
    assert {a["article_id"] for a in mine["items"]} == {draft, done}
    drafts = call(client, "GET", "/articles", tokens["bob"], params={"status": "draft"}).json()
    assert [a["article_id"] for a in drafts["items"]] == [draft]
    queue = call(client, "GET", "/review/queue", tokens["rita"])
    assert queue.status_code == 403


def test_users_and_tokens(client: TestClient, tokens: dict[str, str]) -> None:
    ada, rita = tokens["ada"], tokens["rita"]
    created = call(client, "POST", "/users", ada, json={"name": "nia", "role": "reviewer"})
    token = created.json()["token"]

    assert created.status_code == 201 and created.json()["user"]["role"] == "reviewer"
    assert call(client, "GET", "/me", token).json()["name"] == "nia"
    again = call(client, "POST", "/users", ada, json={"name": "nia", "role": "reader"})
    assert again.status_code == 409
    assert again.json()["error"].startswith("a user named 'nia' already exists")
    bad = call(client, "POST", "/users", ada, json={"name": "a b", "role": "reader"})
    assert bad.status_code == 400 and bad.json()["error"].startswith(
        "user name 'a b' is not allowed"
    )
    assert call(client, "POST", "/users", rita, json={"name": "x"}).json() == error(
        403, "rita (reader) cannot create users; admins can"
    )
    assert call(client, "GET", "/users", rita).status_code == 403
    names = [u["name"] for u in call(client, "GET", "/users", ada).json()["items"]]
    assert "nia" in names and "rita" in names
    second = call(client, "POST", "/users/rita/tokens", rita).json()["token"]
    assert call(client, "GET", "/me", second).json()["name"] == "rita"
    assert call(client, "POST", "/users/nia/tokens", rita).status_code == 403
    assert call(client, "GET", "/me", token).json()["role"] == "reviewer"


def test_search_returns_passages_to_cite(client: TestClient, tokens: dict[str, str]) -> None:
    hits = call(client, "GET", "/search", tokens["rita"], params={"q": "gout flare", "k": 2}).json()

    assert len(hits["hits"]) == 2
    assert hits["hits"][0]["title"] == "Synthetic guideline on gout flares of the big toe"
    assert set(hits["hits"][0]) >= {"chunk_id", "document_id", "text", "score", "ranks"}


def test_the_audit_log_has_no_write_endpoints() -> None:
    paths = openapi_document()["paths"]
    assert set(paths["/api/v1/articles/{article_id}/events"]) == {"get"}
    assert not any(method in ("put", "patch", "delete") for p in paths.values() for method in p)


def test_the_committed_openapi_schema_is_current(client: TestClient) -> None:
    committed = (REPO / "docs" / "openapi.json").read_text()

    assert committed == openapi_text(), (
        "docs/openapi.json is out of date; run `evident openapi --out docs/openapi.json`"
    )
    assert client.get("/openapi.json").json() == json.loads(committed)


def test_create_api_serves_the_given_app(lib: App) -> None:
    api = create_api(lib)
    assert api.state.evident is lib


def test_an_approval_names_the_revision_read_and_is_refused_after_an_edit(
    client: TestClient, tokens: dict[str, str]
) -> None:
    article_id = save_draft(client, tokens["ann"])
    for action, who in [("submit", "ann"), ("claim", "bob")]:
        assert act(client, article_id, action, tokens[who]).status_code == 200
    edited = call(
        client,
        "POST",
        f"/articles/{article_id}/edits",
        tokens["bob"],
        json={"target": "b1", "delete": True, "note": "not needed"},
    )
    assert edited.status_code == 201, edited.text

    def approve(revision: int) -> Any:
        body = {"comment": "ok", "revision": revision}
        return call(client, "POST", f"/articles/{article_id}/approve", tokens["bob"], json=body)

    stale = approve(1)

    assert stale.json() == error(
        409,
        f"cannot approve revision 1 of article {article_id}: it is now at revision 2; "
        "reload it, read the changes and try again",
    )
    fresh = approve(2)
    assert fresh.json()["status"] == "approved"
