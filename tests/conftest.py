"""Shared fixtures: a fresh real SQLite library, an App with the real default backends,
a CLI runner, and paths to the demo library and the staged public data."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evident.app import App, build_app
from evident.config import load_settings
from evident.localpg import SKIP_HINT, PgCluster, start_cluster
from serving import PublishedDemo, build_published_demo

REPO = Path(__file__).resolve().parents[1]
TEST_DATA = REPO / "tests" / "data"
DEMO_LIBRARY = REPO / "library"


def shared_data_dir() -> Path:
    """../shared/data beside the repository, or $EVIDENT_SHARED_DATA."""
    return Path(os.environ.get("EVIDENT_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture
def shared_data() -> Path:
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"staged public data not found at {path} (set EVIDENT_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """A throwaway PostgreSQL server for the whole session (tests/postgres.py); skipped
    with the reason where it cannot start, failed instead under EVIDENT_REQUIRE_POSTGRES
    (make test sets it, so CI never skips the PostgreSQL suite)."""
    try:
        cluster = start_cluster()
    except RuntimeError as exc:
        message = f"PostgreSQL cannot start here: {exc}; {SKIP_HINT}"
        if os.environ.get("EVIDENT_REQUIRE_POSTGRES"):
            pytest.fail(message)
        pytest.skip(message)
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> str:
    """The URL of a fresh, migrated, empty PostgreSQL library database."""
    return pg_cluster.new_database()


@pytest.fixture
def library_dir(tmp_path: Path) -> Path:
    return tmp_path / "library"


@pytest.fixture
def app(library_dir: Path) -> Iterator[App]:
    """An App on a fresh library with the real default backends (MiniLM embedder)."""
    application = build_app(load_settings(library=library_dir))
    yield application
    application.store.close()


@pytest.fixture
def bm25_app(library_dir: Path) -> Iterator[App]:
    """An App on a fresh library with BM25 only (fast; for tests of plumbing)."""
    settings = load_settings(library=library_dir)
    settings.index.embedder = "none"
    application = build_app(settings)
    yield application
    application.store.close()


@pytest.fixture(scope="session")
def demo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """The bundled demo library, ingested and embedded once per test session."""
    directory = tmp_path_factory.mktemp("demo") / "library"
    application = build_app(load_settings(library=directory))
    report = application.ingest([DEMO_LIBRARY])
    assert not report.failed, [r.reason for r in report.failed]
    application.refresh_index()
    yield application
    application.store.close()


@pytest.fixture(scope="session")
def published_demo(tmp_path_factory: pytest.TempPathFactory) -> PublishedDemo:
    """The demo library, BM25 only, with two published articles (gout, diabetic foot
    osteomyelitis), a draft (hallux rigidus) and users ann, bob, eve and rita."""
    return build_published_demo(tmp_path_factory.mktemp("published") / "library", DEMO_LIBRARY)


@pytest.fixture
def sample_docs(tmp_path: Path) -> Path:
    """A copy of the small synthetic test documents, safe to modify."""
    target = tmp_path / "docs"
    shutil.copytree(TEST_DATA / "library", target)
    return target


@pytest.fixture
def lib(bm25_app: App, sample_docs: Path) -> App:
    """The synthetic test documents, ingested and indexed with BM25 only."""
    report = bm25_app.ingest([sample_docs])
    assert not report.failed
    bm25_app.refresh_index()
    return bm25_app


@pytest.fixture
def run_cli(library_dir: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Run `evident ARGS` in-process against the fresh library; returns the click Result."""
    from evident.cli import cli

    monkeypatch.setenv("EVIDENT_LIBRARY", str(library_dir))
    runner = CliRunner()

    def run(*args: str, embedder: str = "none"):  # type: ignore[no-untyped-def]
        monkeypatch.setenv("EVIDENT_INDEX__EMBEDDER", embedder)
        return runner.invoke(cli, list(args), catch_exceptions=False)

    return run
