"""The Milvus backend (index.backend = "milvus") on Milvus Lite: the same PassageIndex as
the embedded one, with BM25 and dense search run by Milvus, kept up to date with the
library's changes. One Milvus Lite file serves the session; each test has its own
collection."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from evident.app import App, build_app
from evident.config import load_settings
from evident.errors import BackendUnavailable
from evident.models import DocumentKind, Filters
from evident.protocols import PassageIndex

pytest.importorskip("pymilvus", reason="the milvus extra is not installed (make install)")

QUERIES = [
    "How is a gout flare treated?",
    "Achilles tendon pain exercise",
    "plantar heel pain stretching shoes",
    "allopurinol urate lowering",
]
_collections = itertools.count(1)


@pytest.fixture(scope="session")
def milvus_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("milvus") / "milvus.db")


def make_app(library: Path, embedder: str, milvus: str | None = None) -> App:
    settings = load_settings(library=library)
    settings.index.embedder = embedder
    if milvus is not None:
        settings.index.backend = "milvus"
        settings.index.milvus_uri = milvus
        settings.index.milvus_collection = f"c{next(_collections)}"
    return build_app(settings)


@pytest.fixture(params=["none", "minilm"])
def pair(
    request: pytest.FixtureRequest, tmp_path: Path, sample_docs: Path, milvus_file: str
) -> Iterator[tuple[App, App]]:
    """The sample documents in the embedded index and in Milvus (BM25 only, and hybrid)."""
    embedded = make_app(tmp_path / "embedded", request.param)
    milvus = make_app(tmp_path / "milvus", request.param, milvus_file)
    for app in (embedded, milvus):
        assert not app.ingest([sample_docs]).failed
        app.refresh_index()
    yield embedded, milvus
    embedded.store.close()
    milvus.store.close()


def ids(hits: list) -> list[str]:  # type: ignore[type-arg]
    return [h.chunk.chunk_id for h in hits]


def test_milvus_answers_searches_like_the_embedded_index(pair: tuple[App, App]) -> None:
    embedded, milvus = pair

    assert isinstance(milvus.index(), PassageIndex)
    for query in QUERIES:
        assert ids(milvus.search(query, k=5, methods=("bm25",))) == ids(
            embedded.search(query, k=5, methods=("bm25",))
        ), query
        # Hybrid fuses cosines computed by two engines (usearch in float16, Milvus in
        # float32): near-ties may swap places, nothing more.
        here, there = ids(embedded.search(query, k=5)), ids(milvus.search(query, k=5))
        assert set(there) == set(here), query
        assert all(abs(here.index(c) - there.index(c)) <= 1 for c in here), query
    lexical = dict(milvus.index().lexical_search("gout flare colchicine", 10))
    assert lexical, "BM25 runs in Milvus"
    assert all(score > 0 for score in lexical.values())


@pytest.mark.parametrize("pair", ["minilm"], indirect=True)
def test_milvus_dense_search_and_vectors(pair: tuple[App, App]) -> None:
    embedded, milvus = pair
    index = milvus.index()
    chunk_id = ids(embedded.search(QUERIES[0], k=1))[0]

    vector = index.vectors([chunk_id, "no-such-passage"])
    nearest = index.dense_search(vector[chunk_id], 3)

    assert list(vector) == [chunk_id]
    assert np.allclose(vector[chunk_id], embedded.index().vectors([chunk_id])[chunk_id], atol=1e-3)
    assert nearest[0][0] == chunk_id
    assert nearest[0][1] == pytest.approx(1.0, abs=1e-3)


def test_milvus_filters_by_kind_and_year(pair: tuple[App, App]) -> None:
    embedded, milvus = pair
    kinds = {cid: meta.kind for cid, meta in _metas(embedded).items()}
    only = Filters(kinds=(DocumentKind.GUIDELINE,))

    found = milvus.index().lexical_search("pain treatment gout tendon heel", 20, only)
    none_yet = milvus.index().lexical_search("pain treatment gout", 20, Filters(year_to=1900))

    assert found
    assert {kinds[c] for c, _ in found} == {DocumentKind.GUIDELINE}
    assert none_yet == []


def _metas(app: App) -> dict[str, object]:
    rows = list(app.store.iter_passages())
    metas = app.store.document_metas()
    return {r["chunk_id"]: metas[r["document_id"]] for r in rows}


def test_milvus_follows_ingests_and_removals(
    tmp_path: Path, sample_docs: Path, milvus_file: str
) -> None:
    app = make_app(tmp_path / "library", "none", milvus_file)
    assert not app.ingest([sample_docs / "gout-flare-guideline.md"]).failed
    app.refresh_index()
    assert app.search("achilles tendon eccentric", k=3, methods=("bm25",)) == []

    shutil.copy(sample_docs / "achilles-trial.md", tmp_path / "achilles.md")
    assert not app.ingest([tmp_path / "achilles.md"]).failed
    hits = app.search("achilles tendon eccentric", k=3, methods=("bm25",))
    document_id = hits[0].chunk.document_id
    app.store.remove_document(document_id)
    after = app.search("achilles tendon eccentric", k=3, methods=("bm25",))

    assert hits and "chilles" in hits[0].chunk.text
    assert after == []
    assert app.index().manifest.passages == app.store.count_chunks()
    app.store.close()


def test_without_the_milvus_extra_the_error_gives_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    from evident.index import milvus

    monkeypatch.setitem(sys.modules, "pymilvus", None)
    milvus.connect.cache_clear()

    with pytest.raises(BackendUnavailable) as info:
        milvus.connect("/nowhere/milvus.db")

    assert str(info.value) == (
        "the Milvus index needs the milvus extra; install it with `pip install "
        "'evident[milvus]'` (or `.venv/bin/pip install pymilvus==3.0.2 milvus-lite==3.2.2` "
        "in a source checkout)"
    )


def test_milvus_scores_bm25_with_the_tuned_k1_and_b(pair: tuple[App, App]) -> None:
    """Milvus's BM25 has Lucene's idf and the (k1 + 1) factor bm25s leaves out; with the
    same k1 and b the two scores differ by exactly that factor."""
    embedded, milvus = pair
    k1 = milvus.settings.index.bm25_k1

    for query in QUERIES:
        here = dict(embedded.index().lexical_search(query, 10))
        there = dict(milvus.index().lexical_search(query, 10))
        assert set(there) == set(here), query
        for chunk_id, score in here.items():
            assert there[chunk_id] == pytest.approx(score * (k1 + 1), rel=1e-3), query
