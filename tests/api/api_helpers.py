"""Helpers for the API tests."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

QUESTION = "How is a gout flare treated?"
API = "/api/v1"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def error(status: int, message: str, errors: list[Any] | None = None) -> dict[str, Any]:
    return {"ok": False, "error": message, "errors": errors or [], "status": status}


def call(
    client: TestClient, method: str, path: str, token: str | None = None, **kwargs: Any
) -> Any:
    headers = auth(token) if token else {}
    return client.request(method, API + path, headers=headers, **kwargs)


def save_draft(client: TestClient, token: str, question: str = QUESTION) -> str:
    response = call(client, "POST", "/ask", token, json={"question": question, "save": True})
    assert response.status_code == 200, response.text
    article_id: str = response.json()["info"]["article_id"]
    return article_id


def act(client: TestClient, article_id: str, action: str, token: str, comment: str = "ok") -> Any:
    return call(
        client, "POST", f"/articles/{article_id}/{action}", token, json={"comment": comment}
    )


def publish(client: TestClient, tokens: dict[str, str], article_id: str) -> None:
    for action, who in [
        ("submit", "ann"),
        ("claim", "bob"),
        ("approve", "bob"),
        ("publish", "eve"),
    ]:
        response = act(client, article_id, action, tokens[who])
        assert response.status_code == 200, response.text
