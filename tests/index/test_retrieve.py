"""Retrieval as a user sees it: the right document first, ranks shown, filters, freshness."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evident.app import App, build_app
from evident.config import load_settings
from evident.errors import IndexMismatch, InvalidInput
from evident.index.retrieve import retrieve
from evident.index.vocab import expand_query
from evident.models import DocumentKind, Filters

TRIAL = "Synthetic randomised trial of eccentric loading for Achilles tendinopathy"
GUIDELINE = "Synthetic guideline on gout flares of the big toe"
LEAFLET = "Heel pain: a synthetic patient leaflet"


@pytest.fixture
def sample_app(bm25_app: App, sample_docs: Path) -> App:
    report = bm25_app.ingest([sample_docs])
    assert not report.failed, [r.reason for r in report.failed]
    return bm25_app


def write_long_gout_document(folder: Path, sections: int = 8) -> Path:
    body = "\n\n".join(
        f"## Part {i}\nGout flare advice number {i}: colchicine, rest and ice for the big toe. "
        + "Filler sentence about follow-up visits. " * 30
        for i in range(sections)
    )
    path = folder / "long-gout-handbook.md"
    path.write_text(
        f'---\ntitle: "Long gout handbook"\nkind: textbook\nyear: 2019\n---\n{body}\n',
        encoding="utf-8",
    )
    return path


def test_eccentric_loading_finds_the_achilles_trial_first(sample_app: App) -> None:
    hits = sample_app.search("eccentric loading for Achilles tendon pain")

    assert hits[0].document.title == TRIAL
    assert hits[0].document.kind is DocumentKind.RANDOMISED_TRIAL
    assert hits[0].chunk.section in {"Methods", "Results"}
    assert hits[0].score >= max(h.score for h in hits)


def test_every_hit_reports_its_bm25_rank(sample_app: App) -> None:
    hits = sample_app.search("pain in a gout flare")

    assert {h.document.title for h in hits} == {TRIAL, GUIDELINE, LEAFLET}
    for hit in hits:
        # BM25 found it (this library has no vectors); the relevance model then reread it.
        assert set(hit.ranks) == {"bm25", "rerank"}
        assert hit.ranks["bm25"] >= 1
    assert sorted(h.ranks["bm25"] for h in hits)[0] == 1
    assert len({h.chunk.chunk_id for h in hits}) == len(hits)


def test_filter_by_kind(sample_app: App) -> None:
    query = "pain treatment"
    everything = {h.document.title for h in sample_app.search(query)}
    assert len(everything) >= 2

    guidelines = sample_app.search(query, filters=Filters(kinds=(DocumentKind.GUIDELINE,)))
    trials_or_leaflets = sample_app.search(
        "pain", filters=Filters(kinds=(DocumentKind.RANDOMISED_TRIAL, DocumentKind.UNKNOWN))
    )

    assert {h.document.title for h in guidelines} == {GUIDELINE}
    assert {h.document.title for h in trials_or_leaflets} == {TRIAL, LEAFLET}


def test_filter_by_year(sample_app: App) -> None:
    def found(filters: Filters) -> set[str]:
        return {
            h.document.title for h in sample_app.search("pain in a gout flare", filters=filters)
        }

    assert found(Filters()) == {TRIAL, GUIDELINE, LEAFLET}
    assert found(Filters(year_from=2020)) == {GUIDELINE}
    # The leaflet has no year, so it drops out once a year range is asked for.
    assert found(Filters(year_to=2016)) == {TRIAL}
    assert found(Filters(year_from=2015, year_to=2021)) == {TRIAL, GUIDELINE}
    assert found(Filters(year_from=2016, year_to=2020)) == set()


def test_max_per_document_caps_hits_from_one_document(sample_app: App, tmp_path: Path) -> None:
    sample_app.ingest([write_long_gout_document(tmp_path)])
    sample_app.settings.index.mmr_lambda = 1.0  # relevance only: the cap alone limits

    for cap in (1, 2, 3):
        sample_app.settings.index.max_per_document = cap
        hits = sample_app.search("gout flare colchicine big toe", k=20)
        per_document: dict[str, int] = {}
        for hit in hits:
            per_document[hit.document_id] = per_document.get(hit.document_id, 0) + 1
        assert max(per_document.values()) == cap
        assert len(per_document) == 2, "the handbook and the guideline both match"


def test_index_from_an_older_format_is_refused_with_the_rebuild_command(
    sample_app: App, library_dir: Path
) -> None:
    # Format 1 (bm25s + a numpy matrix, rebuilt on every ingest) cannot be updated in
    # place: it is refused, and the rebuild the message names works.
    sample_app.refresh_index(embed=False)
    manifest_path = sample_app.index_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps({**manifest, "format_version": 1}))
    settings = load_settings(library=library_dir)
    settings.index.embedder = "none"
    other = build_app(settings)

    with pytest.raises(IndexMismatch) as info:
        other.search("gout")

    assert str(info.value) == (
        f"the search index in {library_dir / 'index'} was built with other settings "
        "(format_version: index has 1, settings say 2); rebuild it with "
        "`evident index --rebuild`"
    )
    # Nothing lost: the library is intact, and the rebuild the message names works.
    assert other.store.count_documents() == 3
    other.refresh_index(embed=False, rebuild=True)
    assert other.search("gout")[0].document.title == GUIDELINE
    other.store.close()


def test_index_from_a_release_with_other_stop_words_is_refused(
    sample_app: App, library_dir: Path
) -> None:
    # An index saved before the tokenizer was stamped holds other BM25 tokens: searching
    # it with today's query tokens would quietly rank worse, so it is refused.
    sample_app.refresh_index(embed=False)
    manifest_path = sample_app.index_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest["tokenizer"]
    manifest_path.write_text(json.dumps(manifest))
    settings = load_settings(library=library_dir)
    settings.index.embedder = "none"
    older = build_app(settings)

    with pytest.raises(IndexMismatch, match=r"tokenizer: index has 1, settings say 2\)"):
        older.search("gout")
    older.store.close()


def test_new_document_is_found_without_an_explicit_rebuild(sample_app: App, tmp_path: Path) -> None:
    assert sample_app.search("splint") == []  # builds and saves the index
    before = sample_app.index().manifest
    note = tmp_path / "splint-note.txt"
    note.write_text(
        "Night splints for plantar fasciitis\n\nA night splint keeps the ankle flexed overnight.",
        encoding="utf-8",
    )
    sample_app.ingest([note])

    hits = sample_app.search("splint")

    assert hits[0].document.title == "Night splints for plantar fasciitis"
    after = sample_app.index().manifest
    # Brought up to date with the one new document, not rebuilt.
    assert after.updated_at != before.updated_at
    assert after.built_at == before.built_at
    assert after.passages == before.passages + 1
    assert sample_app.index().manifest.library_version == sample_app.store.library_version()


def test_edited_document_old_text_is_no_longer_found(sample_app: App, sample_docs: Path) -> None:
    path = sample_docs / "heel-pain-leaflet.txt"
    assert sample_app.search("stretching supportive shoes")[0].document.title == LEAFLET
    path.write_text(
        "Heel pain: a synthetic patient leaflet\n\nRest and ice help most heel pain.",
        encoding="utf-8",
    )
    sample_app.ingest([sample_docs])

    hits = sample_app.search("stretching supportive shoes")

    assert all(h.document.title != LEAFLET for h in hits)
    assert sample_app.search("rest ice heel")[0].document.title == LEAFLET


def test_synonym_in_the_query_finds_the_preferred_name(sample_app: App) -> None:
    index = sample_app.index()
    settings = sample_app.settings.index
    # Without the vocabulary nothing in the library says "podagra".
    assert retrieve(sample_app.store, index, None, "podagra", settings) == []
    assert "gout" in expand_query("podagra", sample_app.vocabulary)

    hits = sample_app.search("podagra")

    assert hits[0].document.title == GUIDELINE
    assert {h.document.title for h in hits} == {GUIDELINE}
    tendinitis = sample_app.search("achilles tendinitis")
    assert {h.document.title for h in tendinitis} == {TRIAL}
    assert "achilles tendinopathy" in expand_query("achilles tendinitis", sample_app.vocabulary)


def test_priors_do_not_lift_a_weak_guideline_over_a_clearly_better_passage(
    sample_app: App,
) -> None:
    hits = sample_app.search("treatment of achilles tendinitis")

    assert hits[0].document.title == TRIAL


@pytest.mark.parametrize("query", ["", "   ", "\n\t "])
def test_empty_query_is_refused(sample_app: App, query: str) -> None:
    with pytest.raises(InvalidInput) as info:
        sample_app.search(query)

    assert str(info.value) == "the question is empty; type a clinical question"
    assert sample_app.store.count_documents() == 3


def test_search_on_an_empty_library_finds_nothing(bm25_app: App) -> None:
    assert bm25_app.search("gout") == []


def test_dense_ranks_appear_once_a_bm25_only_library_is_embedded(
    app: App, sample_docs: Path
) -> None:
    assert app.embedder is not None, "the app fixture uses the real default embedder"
    app.ingest([sample_docs])
    built = app.refresh_index(embed=False)
    assert built.manifest.embedded == 0
    assert app.store.count_embeddings(app.embedder.name) == 0

    bm25_only = app.search("eccentric loading for Achilles tendon pain")

    assert bm25_only[0].document.title == TRIAL
    assert all(set(h.ranks) == {"bm25", "rerank"} for h in bm25_only)

    app.refresh_index()
    hits = app.search("eccentric loading for Achilles tendon pain")

    assert app.store.count_embeddings(app.embedder.name) == app.store.count_chunks()
    assert hits[0].document.title == TRIAL
    assert set(hits[0].ranks) == {"bm25", "dense", "rerank"}
    for hit in hits:
        assert "dense" in hit.ranks, "every passage has a vector, so dense ranks them all"
        assert set(hit.ranks) <= {"bm25", "dense", "rerank"}
    # A paraphrase with no shared words still finds the trial through the dense retriever.
    paraphrase = app.search("exercise therapy for heel cord tendon disorder")
    trial_hits = [h for h in paraphrase if h.document.title == TRIAL]
    assert trial_hits and "dense" in trial_hits[0].ranks


def test_saved_index_is_refreshed_when_another_process_changed_the_library(
    sample_app: App, library_dir: Path, tmp_path: Path
) -> None:
    sample_app.refresh_index(embed=False)  # saved on disk, then the library changes
    note = tmp_path / "splint-note.txt"
    note.write_text("Night splints\n\nA night splint keeps the ankle flexed.", encoding="utf-8")
    sample_app.ingest([note])
    settings = load_settings(library=library_dir)
    settings.index.embedder = "none"
    later = build_app(settings)

    hits = later.search("splint")

    assert hits[0].document.title == "Night splints"
    later.store.close()
