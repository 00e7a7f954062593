"""Many workers: a real `evident serve --workers 2` on SQLite (WAL, the embedded index read by
every worker) and on PostgreSQL, taking concurrent review actions without losing or
forking a single audit row."""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from evident.app import build_app
from evident.config import load_settings
from evident.review.records import Role
from serving import serving

QUESTIONS = [
    "How is a gout flare treated?",
    "What helps Achilles tendon pain?",
    "How is plantar heel pain treated?",
]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_workers_take_concurrent_review_actions_without_losing_audit_rows(
    backend: str, tmp_path: Path, sample_docs: Path, request: pytest.FixtureRequest
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVIDENT_")}
    env.update(EVIDENT_LIBRARY=str(tmp_path / "library"), EVIDENT_INDEX__EMBEDDER="none")
    settings = load_settings(library=tmp_path / "library")
    settings.index.embedder = "none"
    if backend == "postgresql":
        env["EVIDENT_STORE__URL"] = settings.store.url = request.getfixturevalue("pg_url")
    app = build_app(settings)
    assert not app.ingest([sample_docs]).failed
    app.refresh_index()
    tokens = {
        name: app.create_user(name, role, actor="test")[1]
        for name, role in [("ann", Role.AUTHOR), ("bob", Role.REVIEWER)]
    }
    ann, bob = app.user("ann"), app.user("bob")
    drafts = []
    for question in QUESTIONS[:2]:
        record = app.answer(question, fresh=True, save=True, user=ann).record
        assert record is not None
        app.editorial.act("submit", record.article_id, ann, "ready")
        app.editorial.act("claim", record.article_id, bob, "mine")
        drafts.append(record.article_id)
    events_before = len(app.articles.events())
    app.store.close()

    as_ann = {"Authorization": f"Bearer {tokens['ann']}"}
    as_bob = {"Authorization": f"Bearer {tokens['bob']}"}
    log = tmp_path / "serve.log"
    with serving(env, log, "--workers", "2") as base, httpx.Client(timeout=120) as http:

        def comment(n: int) -> int:
            reply = http.post(
                f"{base}/api/v1/articles/{drafts[n % 2]}/comments",
                json={"comment": f"comment {n}"},
                headers=as_bob,
            )
            return reply.status_code

        def approve(_: int) -> int:
            reply = http.post(
                f"{base}/api/v1/articles/{drafts[0]}/approve",
                json={"comment": "ok"},
                headers=as_bob,
            )
            return reply.status_code

        def ask(n: int) -> int:
            reply = http.post(
                f"{base}/api/v1/ask",
                json={"question": QUESTIONS[n % 3], "save": True, "fresh": True},
                headers=as_ann,
            )
            return reply.status_code

        jobs = [(comment, n) for n in range(60)] + [(approve, n) for n in range(4)]
        jobs += [(ask, n) for n in range(6)]
        with ThreadPoolExecutor(max_workers=16) as pool:
            results = list(pool.map(lambda job: (job[0].__name__, job[0](job[1])), jobs))

    statuses: dict[str, list[int]] = {}
    for name, status in results:
        statuses.setdefault(name, []).append(status)
    workers = set(re.findall(r"Started server process \[(\d+)\]", log.read_text()))

    assert len(workers) == 2, log.read_text()[-2000:]
    assert statuses["comment"] == [201] * 60
    assert sorted(statuses["approve"]) == [200, 409, 409, 409], "exactly one approval wins"
    assert statuses["ask"] == [200] * 6
    reopened = build_app(settings)
    check = reopened.verify_audit()
    events = reopened.articles.events()
    assert (check.intact, check.problems) == (True, [])
    # Every comment, the one approval and each saved answer ("create") is in the log once.
    assert len(events) == events_before + 60 + 1 + 6
    assert len({e.comment for e in events if e.action == "comment"}) == 60
    assert reopened.articles.get_record(drafts[0]).status.value == "approved"
    reopened.store.close()
