"""Threads over the REST API: start, follow up (resolved), read back, and who may see them."""

from __future__ import annotations

from api_helpers import QUESTION, call, error
from fastapi.testclient import TestClient

from evident.app import App


def test_a_thread_resolves_follow_ups_and_can_be_read_back(
    client: TestClient, lib: App, tokens: dict[str, str]
) -> None:
    started = call(
        client,
        "POST",
        "/threads",
        tokens["rita"],
        json={"question": QUESTION, "audience": "patient"},
    )
    assert started.status_code == 201, started.text
    first = started.json()
    assert first["index"] == 1 and first["resolved"] == QUESTION
    assert first["article"]["audience"] == "patient" and not first["article"]["abstained"]
    assert len(first["suggestions"]) <= 3
    thread_id = first["thread_id"]

    follow = call(
        client,
        "POST",
        f"/threads/{thread_id}/turns",
        tokens["rita"],
        json={"question": "And in children?"},
    )
    assert follow.status_code == 201, follow.text
    second = follow.json()
    assert second["index"] == 2 and second["asked"] == "And in children?"
    assert second["resolved"] == "What is the treatment for gout flare in children?"
    assert second["article"]["question"] == second["resolved"]
    assert second["article"]["audience"] == "patient"

    shown = call(client, "GET", f"/threads/{thread_id}", tokens["rita"])
    assert shown.status_code == 200
    thread = shown.json()
    assert [t["resolved"] for t in thread["turns"]] == [QUESTION, second["resolved"]]
    assert thread["owner"] == "rita" and thread["audience"] == "patient"
    listed = call(client, "GET", "/threads", tokens["rita"]).json()
    assert thread_id in {t["thread_id"] for t in listed["items"]}
    assert lib.thread(thread_id).turns[1].asked == "And in children?"


def test_threads_are_private_to_their_owner_and_editors(
    client: TestClient, tokens: dict[str, str]
) -> None:
    started = call(client, "POST", "/threads", tokens["ann"], json={"question": QUESTION})
    thread_id = started.json()["thread_id"]

    assert call(client, "GET", f"/threads/{thread_id}", tokens["eve"]).status_code == 200
    hidden = call(client, "GET", f"/threads/{thread_id}", tokens["rita"])
    assert hidden.status_code == 404
    assert hidden.json() == error(
        404,
        f"no thread {thread_id!r} visible to rita; list your threads with GET /api/v1/threads",
    )
    refused = call(
        client, "POST", f"/threads/{thread_id}/turns", tokens["rita"], json={"question": "And?"}
    )
    assert refused.status_code == 404
    assert thread_id not in {
        t["thread_id"] for t in call(client, "GET", "/threads", tokens["rita"]).json()["items"]
    }


def test_unknown_thread_and_saving_as_a_reader_give_one_line_errors(
    client: TestClient, tokens: dict[str, str]
) -> None:
    missing = call(client, "GET", "/threads/nope", tokens["ann"])
    assert missing.status_code == 404
    assert missing.json()["error"].startswith("no thread 'nope'")
    refused = call(
        client, "POST", "/threads", tokens["rita"], json={"question": QUESTION, "save": True}
    )
    assert refused.status_code == 403
    assert "cannot save articles" in refused.json()["error"]
    saved = call(
        client, "POST", "/threads", tokens["ann"], json={"question": QUESTION, "save": True}
    )
    assert saved.json()["info"]["status"] == "draft"


def test_anonymous_threads_are_not_listed_and_open_by_their_whole_id_only(
    client: TestClient, lib: App, tokens: dict[str, str]
) -> None:
    lib.settings.api.public = True
    started = call(client, "POST", "/threads", json={"question": QUESTION})
    assert started.status_code == 201, started.text
    thread_id = started.json()["thread_id"]
    mine = call(client, "POST", "/threads", tokens["rita"], json={"question": QUESTION})
    rita_s = mine.json()["thread_id"]

    # Nobody but editors lists a visitor's questions; each caller lists their own.
    assert call(client, "GET", "/threads").json() == {"items": []}
    listed = call(client, "GET", "/threads", tokens["rita"]).json()["items"]
    assert [t["thread_id"] for t in listed] == [rita_s]
    every = {t["thread_id"] for t in call(client, "GET", "/threads", tokens["eve"]).json()["items"]}
    assert every == {thread_id, rita_s}
    # A prefix opens nothing for anyone but editors; the whole id is the link.
    for prefix in (thread_id[:2], thread_id[:11]):
        guessed = call(client, "GET", f"/threads/{prefix}")
        assert guessed.json() == error(
            404,
            f"no thread {prefix!r}; list threads with `evident chat --list` or GET /api/v1/threads",
        )
        assert call(client, "GET", f"/threads/{prefix}", tokens["rita"]).status_code == 404
    assert call(client, "GET", f"/threads/{thread_id}").status_code == 200
    assert call(client, "GET", f"/threads/{thread_id[:4]}", tokens["eve"]).status_code == 200
