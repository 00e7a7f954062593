"""Moving a library between backends: `evident migrate --to postgresql://…` (and back to a
SQLite folder) copies every row, checks the copy, and the moved library answers alike."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from evident.app import App, build_app
from evident.config import load_settings
from evident.errors import Conflict
from evident.localpg import PgCluster
from evident.models import Article
from evident.review.records import Role
from evident.store.postgres import PostgresStore
from evident.store.sqlite import SqliteStore

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO.parent / "shared" / "seeds"
QUESTION = "How is a gout flare treated?"


def app_on(library: Path, url: str = "", embedder: str = "none", milvus: str = "") -> App:
    settings = load_settings(library=library)
    settings.index.embedder = embedder
    settings.store.url = url
    if milvus:
        settings.index.backend = "milvus"
        settings.index.milvus_uri = milvus
    return build_app(settings)


@pytest.fixture
def busy(lib: App) -> tuple[App, str]:
    """The test library with users, a published article, a thread and a comment."""
    ann, token = lib.create_user("ann", Role.AUTHOR, actor="test")
    bob = lib.create_user("bob", Role.REVIEWER, actor="test")[0]
    eve = lib.create_user("eve", Role.EDITOR, actor="test")[0]
    record = lib.answer(QUESTION, fresh=True, save=True, user=ann).record
    assert record is not None
    for action, who in [("submit", ann), ("claim", bob), ("approve", bob), ("publish", eve)]:
        lib.editorial.act(action, record.article_id, who, "ok")
    lib.editorial.comment(record.article_id, bob, "a note after publication")
    lib.ask_in_thread("What helps Achilles tendon pain?")
    return lib, token


def test_migrate_moves_everything_to_postgresql_and_back(
    busy: tuple[App, str],
    pg_url: str,
    tmp_path: Path,
    run_cli,  # type: ignore[no-untyped-def]
) -> None:
    source, token = busy
    before = source.store.counts()
    head = source.verify_audit().head

    result = run_cli("migrate", "--to", pg_url)

    assert result.exit_code == 0, result.output
    moved = app_on(tmp_path / "on-pg", pg_url)
    assert moved.store.counts() == before
    assert moved.store.library_version() == source.store.library_version()
    check = moved.verify_audit()
    assert (check.intact, check.head) == (True, head)
    assert moved.authenticate(token) == source.authenticate(token)
    assert moved.answer(QUESTION).source == "published"
    assert [t.thread_id for t in moved.threads()] == [t.thread_id for t in source.threads()]
    # New review events continue the copied chain.
    moved.editorial.comment(moved.articles.list_records()[0].article_id, moved.user("bob"), "hi")
    assert moved.verify_audit().intact
    # And back again, into a new SQLite library.
    report = moved.migrate(str(tmp_path / "back"))
    back = SqliteStore(tmp_path / "back" / "library.sqlite")
    assert back.counts() == report.counts == moved.store.counts()
    assert "moved 3 documents" in " ".join(result.output.split())
    back.close()
    moved.store.close()


def test_migrate_refuses_a_target_that_holds_a_library(busy: tuple[App, str], pg_url: str) -> None:
    source, _ = busy
    source.migrate(pg_url)
    target = PostgresStore(pg_url, pool_size=1)
    before = target.counts()

    with pytest.raises(Conflict) as refused:
        source.migrate(pg_url)

    assert str(refused.value).startswith(
        f"the target library {pg_url} is not empty (1 meta, 3 documents, "
    )
    assert str(refused.value).endswith(
        "; migrate into a new, empty database so nothing there is overwritten"
    )
    assert target.counts() == before
    target.close()


def test_the_demo_library_moved_to_postgresql_answers_the_seeds_with_the_same_articles(
    demo_app: App, pg_cluster: PgCluster, tmp_path: Path
) -> None:
    """Moving the records changes no answer, with either search backend. (Milvus and the
    embedded index compute cosines differently, so near-tied hits, and some articles, can
    differ between the two backends; bench/scale_out.py measures by how much.)"""
    pytest.importorskip("pymilvus", reason="the milvus extra is not installed (make install)")
    if not SEEDS.is_dir():
        pytest.skip(f"the seed questions are not at {SEEDS}")
    questions = [p.read_text().splitlines()[0].strip() for p in sorted(SEEDS.glob("*.txt"))]
    assert len(questions) == 5
    # The embedded index: the SQLite library against its copy in PostgreSQL.
    url = pg_cluster.new_database()
    demo_app.migrate(url)
    on_pg = app_on(tmp_path / "on-pg", url, embedder="minilm")
    # Milvus: a SQLite library searched in Milvus Lite, against the library moved to
    # PostgreSQL with `evident migrate --index milvus` (a collection of its own).
    demo_app.migrate(str(tmp_path / "copy"))
    reference = app_on(tmp_path / "copy", "", "minilm", milvus=str(tmp_path / "reference.db"))
    url_milvus = pg_cluster.new_database()
    demo_app.migrate(url_milvus, milvus=True)  # into <demo library>/milvus.db
    on_pg_milvus = app_on(
        tmp_path / "on-pg-milvus",
        url_milvus,
        embedder="minilm",
        milvus=str(demo_app.settings.library / "milvus.db"),
    )
    assert on_pg_milvus.index().manifest.passages == demo_app.store.count_chunks()

    for question in questions:
        here = demo_app.ask(question)
        assert here.sections and not here.abstained, question
        assert same(on_pg.ask(question), here), question
        assert same(on_pg_milvus.ask(question), reference.ask(question)), question
    for app in (on_pg, reference, on_pg_milvus):
        app.store.close()


def same(one: Article, other: Article) -> bool:
    """The same article, whenever it was written."""
    return replace(one, generated_at=other.generated_at) == other
