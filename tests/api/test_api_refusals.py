"""Refused questions (the library had not enough evidence) are kept, but never reviewed."""

from __future__ import annotations

from api_helpers import act, call, error, save_draft
from fastapi.testclient import TestClient

REFUSED = "What is the first-line treatment for acute otitis media?"


def ids(response: object) -> list[str]:
    return [item["article_id"] for item in response.json()["items"]]  # type: ignore[attr-defined]


def test_a_refused_question_is_kept_but_stays_out_of_the_queue(
    client: TestClient, tokens: dict[str, str]
) -> None:
    ann, bob, eve = tokens["ann"], tokens["bob"], tokens["eve"]
    saved = call(client, "POST", "/ask", ann, json={"question": REFUSED, "save": True}).json()
    assert saved["article"]["abstained"] and saved["info"]["abstained"]
    refused = saved["info"]["article_id"]
    draft = save_draft(client, ann)

    listed = call(client, "GET", "/articles", bob)
    assert draft in ids(listed) and refused not in ids(listed)
    drafts = call(client, "GET", "/articles", bob, params={"status": "draft"})
    assert ids(drafts) == [draft]
    only = call(client, "GET", "/articles", bob, params={"abstained": "true"})
    assert ids(only) == [refused] and only.json()["items"][0]["abstained"] is True
    assert ids(call(client, "GET", "/articles", ann)) == [draft]  # the author's own list too

    # Nothing to review: submitting it is refused and changes nothing.
    tried = act(client, refused, "submit", eve)
    assert tried.status_code == 409
    assert tried.json() == error(
        409,
        f"cannot submit article {refused}: it is a refusal (the library had not enough "
        "evidence), so there is nothing to review; add documents that answer the question "
        "and ask it again",
    )
    assert act(client, draft, "submit", ann).status_code == 200
    assert ids(call(client, "GET", "/review/queue", bob)) == [draft]

    # It is still there by its id, with its audit trail.
    kept = call(client, "GET", f"/articles/{refused}", bob).json()
    assert kept["info"]["status"] == "draft" and kept["article"]["abstained"]
    events = call(client, "GET", f"/articles/{refused}/events", bob).json()["items"]
    assert [e["action"] for e in events] == ["create"]
