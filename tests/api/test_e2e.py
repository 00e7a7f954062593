"""End to end: a real `evident serve` on 127.0.0.1, driven over HTTP through a lifecycle."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from serving import evident, serving


@pytest.fixture
def server(tmp_path: Path, sample_docs: Path) -> Iterator[tuple[str, str]]:
    """A served library with the sample documents; yields (base URL, admin token)."""
    env = dict(os.environ)
    env.update(EVIDENT_LIBRARY=str(tmp_path / "library"), EVIDENT_INDEX__EMBEDDER="none")
    env.pop("EVIDENT_USER", None)
    evident(env, "ingest", str(sample_docs))
    admin_token = evident(env, "users", "create", "--admin", "root").strip().splitlines()[-1]
    with serving(env, tmp_path / "serve.log") as base:
        yield base + "/api/v1", admin_token


def test_a_full_review_lifecycle_over_http(server: tuple[str, str]) -> None:
    base, admin_token = server
    with httpx.Client(base_url=base, timeout=30) as http:

        def as_(token: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {token}"}

        tokens = {}
        for name, role in [
            ("ann", "author"),
            ("bob", "reviewer"),
            ("eve", "editor"),
            ("rita", "reader"),
        ]:
            made = http.post("/users", json={"name": name, "role": role}, headers=as_(admin_token))
            assert made.status_code == 201, made.text
            tokens[name] = made.json()["token"]
        ann, bob, eve, rita = (as_(tokens[n]) for n in ("ann", "bob", "eve", "rita"))

        asked = http.post(
            "/ask", json={"question": "How is a gout flare treated?", "save": True}, headers=ann
        )
        assert asked.json()["source"] == "fresh"
        article_id = asked.json()["info"]["article_id"]
        assert (
            http.post(f"/articles/{article_id}/submit", json={}, headers=ann).json()["status"]
            == "submitted"
        )
        assert (
            http.post(f"/articles/{article_id}/claim", json={}, headers=bob).json()["status"]
            == "under_review"
        )
        comment = http.post(
            f"/articles/{article_id}/comments",
            json={"comment": "Tighten s1.1", "target": "s1.1"},
            headers=bob,
        )
        assert comment.status_code == 201
        edit = http.post(
            f"/articles/{article_id}/edits",
            json={
                "target": "s1.1",
                "text": "Treatment of a gout flare works best when started within 24 hours.",
            },
            headers=bob,
        )
        assert edit.status_code == 201 and edit.json()["info"]["revision"] == 2
        assert (
            http.post(f"/articles/{article_id}/approve", json={}, headers=bob).json()["status"]
            == "approved"
        )
        published = http.post(f"/articles/{article_id}/publish", json={}, headers=eve).json()
        assert published["status"] == "published"

        again = http.post(
            "/ask", json={"question": "What is the treatment for a gout flare?"}, headers=rita
        )
        body = again.json()
        assert body["source"] == "published"
        assert body["info"]["article_id"] == article_id and body["info"]["reviewed_by"] == "bob"
        assert body["article"]["status_label"] == "Approved and published"
        assert "within 24 hours." in str(body["article"]["sections"])

        missing = http.get("/articles/nope", headers=rita)
        assert missing.status_code == 404 and missing.json()["ok"] is False
