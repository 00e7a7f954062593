"""Run the real `evident` CLI and a real `evident serve` on 127.0.0.1 for end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from evident.app import build_app
from evident.config import load_settings
from evident.localserver import free_port, stop, wait_until_answering
from evident.review.records import Role

EVIDENT = Path(sys.executable).parent / "evident"


@dataclass(frozen=True)
class Served:
    """A running server: its base URL and a token for each user by name."""

    base: str
    tokens: dict[str, str]
    library: Path


def evident(env: dict[str, str], *args: str) -> str:
    """Run `evident ARGS`; return its output (the test fails on a non-zero exit)."""
    done = subprocess.run(
        [str(EVIDENT), *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@contextmanager
def serving(env: dict[str, str], log_path: Path, *args: str) -> Iterator[str]:
    """Start `evident serve` on a free port, wait until it answers; yield its base URL."""
    port = free_port()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(EVIDENT), "serve", "--host", "127.0.0.1", "--port", str(port), *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            answering = wait_until_answering(f"{base}/api/v1/health", process, 60, 0.2)
            assert process.poll() is None, log_path.read_text()
            assert answering, "evident serve did not start within 60 s"
            yield base
        finally:
            stop(process, 20)


@dataclass(frozen=True)
class PublishedDemo:
    """The demo library (BM25 only) with users, two published articles and one draft.

    env: the environment that serves or reads this library (EVIDENT_LIBRARY set).
    published: article id by condition ("gout", "diabetic foot osteomyelitis").
    draft: the id of ann's draft, never submitted.
    """

    library: Path
    env: dict[str, str]
    tokens: dict[str, str]
    published: dict[str, str]
    draft: str
    draft_question: str


PUBLISHED_QUESTIONS = {
    "gout": "How is a gout flare treated?",
    "diabetic foot osteomyelitis": "What is the treatment for diabetic foot osteomyelitis?",
}
DRAFT_QUESTION = "What is the treatment for hallux rigidus?"
ROLES = {"ann": Role.AUTHOR, "bob": Role.REVIEWER, "eve": Role.EDITOR, "rita": Role.READER}


def build_published_demo(library: Path, demo_documents: Path) -> PublishedDemo:
    """Ingest the demo library BM25-only and take articles through the review workflow."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVIDENT_")}
    env.update(EVIDENT_LIBRARY=str(library), EVIDENT_INDEX__EMBEDDER="none")
    settings = load_settings(library=library)
    settings.index.embedder = "none"
    app = build_app(settings)
    try:
        report = app.ingest([demo_documents])
        assert not report.failed, [r.reason for r in report.failed]
        app.refresh_index()
        roles = {"ann": Role.AUTHOR, "bob": Role.REVIEWER, "eve": Role.EDITOR, "rita": Role.READER}
        tokens = {
            name: app.create_user(name, role, actor="test")[1] for name, role in roles.items()
        }
        ann, bob, eve = app.user("ann"), app.user("bob"), app.user("eve")
        published = {}
        for condition, question in PUBLISHED_QUESTIONS.items():
            answer = app.answer(question, fresh=True, save=True, user=ann)
            assert answer.record is not None and not answer.article.abstained, question
            article_id = answer.record.article_id
            for action, who in [
                ("submit", ann),
                ("claim", bob),
                ("approve", bob),
                ("publish", eve),
            ]:
                app.editorial.act(action, article_id, who, "checked")
            published[condition] = article_id
        draft = app.answer(DRAFT_QUESTION, fresh=True, save=True, user=ann)
        assert draft.record is not None and not draft.article.abstained
    finally:
        app.store.close()
    return PublishedDemo(library, env, tokens, published, draft.record.article_id, DRAFT_QUESTION)
