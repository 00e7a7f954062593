"""The index grows with the library: searches answer while it is indexed, a killed indexing
leaves the last index serving, and removals and replacements are applied in place."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from evident.app import App
from evident.index.build import open_index, sync_index
from evident.index.engine import TantivyUsearchIndex
from evident.models import DocumentKind, IndexedPassage
from evident.protocols import PassageIndex
from evident.store.sqlite import SqliteStore

NOTE_TITLE = "Night splints for plantar fasciitis"


def _write_notes(folder: Path, count: int, word: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (folder / f"note-{i:03d}.txt").write_text(
            f"{word.title()} note {i}\n\nPatient note {i} mentions the {word} regimen "
            f"number {i} for a painful heel, reviewed at visit {i}.",
            encoding="utf-8",
        )
    return folder


def test_searches_answer_from_the_last_commit_while_the_library_is_indexed(
    lib: App, tmp_path: Path
) -> None:
    before = lib.search("gout")
    note = tmp_path / "splint.txt"
    note.write_text(f"{NOTE_TITLE}\n\nA night splint keeps the ankle flexed.", encoding="utf-8")
    lib.ingest([note])
    # Index the new document in a thread that stops halfway, holding every index lock.
    halfway, resume = threading.Event(), threading.Event()

    def pause(done: int, total: int) -> None:
        halfway.set()
        assert resume.wait(60)

    indexer = threading.Thread(target=lambda: lib.refresh_index(embed=False, on_index=pause))
    indexer.start()
    assert halfway.wait(60)
    answered: list[object] = []
    searcher = threading.Thread(target=lambda: answered.append(lib.search("gout")))
    searcher.start()
    searcher.join(30)  # a search that waited for the indexer would still be running

    assert not searcher.is_alive() and indexer.is_alive()
    assert [h.chunk.chunk_id for h in answered[0]] == [h.chunk.chunk_id for h in before]
    assert lib.search("splint") == [], "not committed yet"
    resume.set()
    indexer.join(60)
    assert lib.search("splint")[0].document.title == NOTE_TITLE


def test_a_server_app_brings_a_stale_index_up_to_date_without_making_searches_wait(
    lib: App, tmp_path: Path
) -> None:
    lib.background_sync = True
    lib.ingest([_write_notes(tmp_path / "notes", 3, "splint")])

    first = lib.search("splint")  # answers at once, from the last commit

    assert first == []
    for _ in range(200):  # the background thread commits within moments
        hits = lib.search("splint")
        if hits:
            break
        threading.Event().wait(0.05)
    assert {h.document.title for h in hits} >= {"Splint note 0", "Splint note 1"}


KILLED_WORKER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from evident.index.build import sync_index
    from evident.store.sqlite import SqliteStore

    library = Path(sys.argv[1])
    store = SqliteStore(library / "library.sqlite")

    def stall(done, total):
        if done >= 2000:  # passages are in the writer, nothing committed
            print("indexing", flush=True)
            time.sleep(600)

    sync_index(store, library / "index", None, rebuild=sys.argv[2] == "rebuild",
               on_progress=stall)
    """
)


def _kill_midway(library: Path, mode: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    worker = subprocess.Popen(
        [sys.executable, "-c", KILLED_WORKER, str(library), mode],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert worker.stdout is not None
    line = worker.stdout.readline()
    assert line.strip() == "indexing", worker.stderr.read() if worker.stderr else ""
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(30)


def test_a_kill_during_indexing_leaves_the_last_index_serving_and_a_rerun_completes(
    lib: App, tmp_path: Path
) -> None:
    library = lib.settings.library
    committed = lib.index().manifest.passages  # the three sample documents
    lib.ingest([_write_notes(tmp_path / "notes", 2100, "splint")])

    for mode in ("update", "rebuild"):
        _kill_midway(library, mode)

        served = open_index(lib.store, library / "index", None)
        assert served.manifest.passages == committed, "the last commit, untouched"
        assert served.lexical_search("gout", 5)
        assert served.lexical_search("splint", 5) == []

    manifest = sync_index(lib.store, library / "index", None)

    assert manifest is not None and manifest.passages == lib.store.count_chunks()
    assert lib.search("splint regimen 2099")[0].document.title == "Splint note 2099"
    assert sorted(p.name for p in library.glob("index*")) == ["index", "index.lock"]


def test_a_removed_or_replaced_document_is_reflected_without_a_rebuild(
    lib: App, sample_docs: Path
) -> None:
    built = lib.index().manifest
    leaflet = sample_docs / "heel-pain-leaflet.txt"
    assert any("leaflet" in h.document.title.lower() for h in lib.search("heel pain"))
    text = leaflet.read_text(encoding="utf-8")
    leaflet.write_text(text + "\n\nOrthotic insoles with a metatarsal dome.", encoding="utf-8")

    lib.ingest([sample_docs])  # the edited leaflet replaces the old one
    lib.refresh_index(embed=False)

    index = lib.index()
    assert index.manifest.built_at == built.built_at, "updated in place, not rebuilt"
    assert index.manifest.passages == lib.store.count_chunks()
    hits = lib.search("metatarsal dome insoles")
    assert hits and "dome" in hits[0].chunk.text
    old_ids = {c for c, _ in index.lexical_search("heel pain", 50)}
    assert old_ids <= set(lib.store.chunk_documents(list(old_ids)))

    document_id = hits[0].document_id
    lib.store.remove_document(document_id)
    lib.refresh_index(embed=False)

    assert all(h.document_id != document_id for h in lib.search("metatarsal dome insoles"))
    assert lib.index().manifest.passages == lib.store.count_chunks()


def test_vectors_follow_removals_and_replacements(app: App, sample_docs: Path) -> None:
    app.ingest([sample_docs])
    app.refresh_index()
    assert app.embedder is not None
    index = app.index()
    leaflet = next(h for h in app.search("heel pain") if "leaflet" in h.document.title.lower())
    vector = index.vectors([leaflet.chunk.chunk_id])[leaflet.chunk.chunk_id]
    assert index.dense_search(vector, 1)[0][0] == leaflet.chunk.chunk_id

    app.store.remove_document(leaflet.document_id)
    app.refresh_index()

    index = app.index()
    assert index.vectors([leaflet.chunk.chunk_id]) == {}
    assert leaflet.chunk.chunk_id not in {c for c, _ in index.dense_search(vector, 10)}
    assert index.manifest.embedded == app.store.count_embeddings(app.embedder.name)


def test_upsert_replaces_a_passage_held_under_the_same_id(lib: App) -> None:
    index = lib.index()
    assert isinstance(index, PassageIndex)
    chunk_id, _ = index.lexical_search("gout", 1)[0]
    text = "entirely different words: quetiapine"
    index.upsert([IndexedPassage(chunk_id, "doc", text, DocumentKind.UNKNOWN, 0)])
    assert index.lexical_search("quetiapine", 5) == [], "not committed yet"
    index.commit()

    assert [c for c, _ in index.lexical_search("quetiapine", 5)] == [chunk_id]
    assert chunk_id not in {c for c, _ in index.lexical_search("gout", 50)}


def test_ingest_embed_later_is_searchable_at_once_and_embeds_in_the_background(
    library_dir: Path, sample_docs: Path
) -> None:
    evident = Path(sys.executable).with_name("evident")
    env = {**os.environ, "EVIDENT_INDEX__EMBEDDER": "minilm"}
    done = subprocess.run(
        [
            str(evident),
            "--library",
            str(library_dir),
            "ingest",
            str(sample_docs),
            "--embed",
            "later",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    )

    assert "embedding in the background" in done.stdout
    store = SqliteStore(library_dir / "library.sqlite")
    index = TantivyUsearchIndex.open(library_dir / "index")
    assert index.lexical_search("gout", 5), "BM25 answers as soon as ingest returns"
    for _ in range(600):  # the background `evident index` embeds and commits the vectors
        manifest = json.loads((library_dir / "index" / "manifest.json").read_text())
        if manifest["embedded"] == store.count_chunks():
            break
        threading.Event().wait(0.5)
    assert manifest["embedded"] == store.count_chunks() > 0
    assert "error" not in (library_dir / "embed.log").read_text().lower()
