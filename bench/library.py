"""The benchmark library: every staged passage, ingested with evident's own readers.

Embedding ~40k passages with the numpy MiniLM takes a long time on two cores, so the
built library is cached outside the repository, under a key that covers the package
version, the embedder, the ingest settings and the list of input files with their sizes.
A second run reuses it. Embedding commits every batch, so a killed build resumes.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import resource
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.data import require, shared_data_dir
from evident import __version__
from evident.app import App, build_app
from evident.config import IndexSettings, Settings
from evident.errors import IndexMismatch
from evident.ingest.chunk import CHUNKER_VERSION

# MedQuAD removed the MedlinePlus answers (ADAM, drugs, herbs) for copyright: those files
# hold questions only, so they are left out rather than ingested as 5,777 failures.
MEDQUAD_WITHOUT_ANSWERS = ("10_MPlus_ADAM_QA", "11_MPlusDrugs_QA", "12_MPlusHerbsSupplements_QA")

Log = Callable[[str], None]


def library_files() -> list[Path]:
    """Return the staged files the benchmark library is built from, in a stable order."""
    bioasq = sorted(require("bioasq-golden-7b-11b").glob("Task*BGoldenEnriched/*_golden.json"))
    pubmedqa = [require("pubmedqa/ori_pqal.json")]
    medquad_root = require("medquad")
    medquad = sorted(
        p
        for folder in sorted(medquad_root.iterdir())
        if folder.is_dir() and folder.name not in MEDQUAD_WITHOUT_ANSWERS
        for p in folder.glob("*.xml")
    )
    ngc = sorted(require("ngc-guideline-summaries-open/summaries").glob("*.xml"))
    return [*bioasq, *pubmedqa, *medquad, *ngc]


def open_demo_library(area: str, log: Log) -> App:
    """The bundled demo library (library/), ingested and indexed in the benchmark cache;
    an unchanged library is reused, so only the first run pays for the embedding."""
    from evident.eval.data import REPO

    app = build_app(Settings(library=cache_root() / f"demo-{__version__}"))
    if app.store.count_documents() == 0:
        log(f"{area}: building the demo library …")
    app.ingest([REPO / "library"])
    app.refresh_index()
    return app


def cache_root() -> Path:
    """Return $EVIDENT_BENCH_CACHE, or ~/.cache/evident-bench."""
    default = Path.home() / ".cache" / "evident-bench"
    return Path(os.environ.get("EVIDENT_BENCH_CACHE", default))


def cache_key(files: list[Path], settings: Settings) -> tuple[str, dict[str, Any]]:
    """Return a short key for a library built from these files with these settings."""
    root = shared_data_dir()
    inputs = {
        "package_version": __version__,
        "embedder": settings.index.embedder,
        "chunker": CHUNKER_VERSION,
        "passage_chars": settings.ingest.passage_chars,
        "passage_max_chars": settings.ingest.passage_max_chars,
        "files": [[str(p.relative_to(root)), p.stat().st_size] for p in files],
    }
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]
    return f"{__version__}-{digest}", {k: v for k, v in inputs.items() if k != "files"}


@dataclass
class BenchLibrary:
    """An App on the cached benchmark library and how the library was built."""

    app: App
    directory: Path
    build: dict[str, Any]


def _load_record(path: Path) -> dict[str, Any]:
    if path.exists():
        record: dict[str, Any] = json.loads(path.read_text())
        return record
    return {}


def _save_record(path: Path, record: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2))
    tmp.replace(path)


def _peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def open_library(
    index_settings: IndexSettings, *, embed: bool = True, log: Log = print
) -> BenchLibrary:
    """Open the cached benchmark library, building or finishing it first if needed.

    Args:
        index_settings: the retrieval settings to search with (the cache does not depend
            on them, except that BM25 parameters rebuild the saved index).
        embed: embed passages that lack vectors (False gives a BM25-only library fast).
    """
    files = library_files()
    settings = Settings(index=index_settings)
    key, key_inputs = cache_key(files, settings)
    directory = cache_root() / key
    settings = Settings(library=directory, index=index_settings)
    app = build_app(settings)
    with _build_lock(directory, log):
        record = _load_record(directory / "build.json")
        if record.get("key", key) != key:
            log(f"bench: ignoring {directory / 'build.json'}: it describes {record['key']}")
            record = {}
        record.setdefault("key", key)
        record.setdefault("inputs", {**key_inputs, "files": len(files)})
        _build(app, files, record, directory / "build.json", embed, log)
    return BenchLibrary(app=app, directory=directory, build=record)


def _build(
    app: App, files: list[Path], record: dict[str, Any], record_path: Path, embed: bool, log: Log
) -> None:
    """Ingest, embed and index whatever the cached library still lacks."""

    if not record.get("ingest", {}).get("complete"):
        log(f"bench: ingesting {len(files)} staged files into {app.settings.library} …")
        ingest = record.setdefault("ingest", {"seconds": 0.0})
        start = time.perf_counter()
        report = app.ingest(files)
        ingest["seconds"] += time.perf_counter() - start
        ingest["documents"] = app.store.count_documents()
        ingest["passages"] = app.store.count_chunks()
        failed = app.store.failed_sources()
        ingest["failed_files"] = len(failed)
        ingest["failed_examples"] = [reason for _, reason in failed[:5]]
        ingest["duplicates"] = sum(1 for r in report.results if r.status.value == "duplicate")
        ingest["complete"] = True
        ingest["peak_rss_mb"] = round(_peak_rss_mb(), 1)
        _save_record(record_path, record)
        log(
            f"bench: ingested {ingest['documents']} documents, {ingest['passages']} passages "
            f"in {ingest['seconds']:.0f} s ({ingest['failed_files']} files failed)"
        )

    embedder = app.embedder
    if embed and embedder is not None:
        missing = app.store.count_chunks() - app.store.count_embeddings(embedder.name)
        if missing and "reused" not in record.get("embed", {}):
            _reuse_vectors(app, record, record_path, embedder.name, log)
            missing = app.store.count_chunks() - app.store.count_embeddings(embedder.name)
        if missing:
            _embed(app, record, record_path, missing, log)

    # A saved index of an older format cannot be loaded: rebuild it.
    try:
        app.index()
    except IndexMismatch:
        log("bench: rebuilding the search index (it is of an older format) …")
        app.refresh_index(embed=False, rebuild=True)
    if "index_seconds" not in record:
        start = time.perf_counter()
        app.refresh_index(embed=False)
        record["index_seconds"] = time.perf_counter() - start
        _save_record(record_path, record)


@contextmanager
def _build_lock(directory: Path, log: Log) -> Iterator[None]:
    """Hold an exclusive lock on the cached library while it is built or checked.

    Several benchmark areas (and people) open the same cached library; without the lock
    two processes would embed the same passages and race to save the index.
    """
    with (directory / "build.lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"bench: another process is building {directory}; waiting for it …")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _reuse_vectors(
    app: App, record: dict[str, Any], record_path: Path, model: str, log: Log
) -> None:
    """Copy vectors of unchanged passages from earlier cached builds with the same embedder.

    A chunk id hashes its document, offset and text, so an equal id is an equal passage
    and its vector is the one embedding would give. After a chunker change this turns a
    70-minute re-embed into minutes; build.json says how many vectors were copied.
    """
    reused: dict[str, Any] = {"passages": 0, "from": []}
    target = app.settings.library / "library.sqlite"
    for other in sorted(cache_root().glob(f"{__version__}-*/library.sqlite")):
        if other == target:
            continue
        with closing(sqlite3.connect(target)) as db:
            db.execute("ATTACH DATABASE ? AS other", (str(other),))
            copied = db.execute(
                "INSERT OR IGNORE INTO embeddings (chunk_id, model, vector) "
                "SELECT e.chunk_id, e.model, e.vector FROM other.embeddings e "
                "JOIN chunks c ON c.chunk_id = e.chunk_id WHERE e.model = ?",
                (model,),
            ).rowcount
            db.commit()
            db.execute("DETACH DATABASE other")
        if copied > 0:
            reused["passages"] += copied
            reused["from"].append(other.parent.name)
    record.setdefault("embed", {"seconds": 0.0, "passages": 0, "sessions": []})["reused"] = reused
    _save_record(record_path, record)
    if reused["passages"]:
        log(f"bench: copied {reused['passages']} vectors of unchanged passages from earlier builds")


def _embed(app: App, record: dict[str, Any], record_path: Path, missing: int, log: Log) -> None:
    embed = record.setdefault("embed", {"seconds": 0.0, "passages": 0, "sessions": []})
    session = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "missing_at_start": missing,
        "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
        "cores": os.cpu_count(),
    }
    embed["sessions"].append(session)
    log(f"bench: embedding {missing} passages (resumable; progress is committed) …")
    start = last = time.perf_counter()
    done_before = 0

    def progress(done: int, total: int) -> None:
        # Checkpoint the timing with each batch, so a killed build still knows its cost.
        nonlocal last, done_before
        now = time.perf_counter()
        embed["seconds"] += now - last
        embed["passages"] += done - done_before
        last, done_before = now, done
        session["load_average"] = os.getloadavg()[0]
        _save_record(record_path, record)
        if done == total or done % 1024 < app.settings.index.embed_batch:
            rate = (done) / max(now - start, 1e-9)
            log(f"bench: embedded {done}/{total} ({rate:.1f}/s)")

    app.refresh_index(on_progress=progress)
    embed["complete"] = True
    embed["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    _save_record(record_path, record)


def disk_size(directory: Path) -> dict[str, int]:
    """Return the bytes on disk of the SQLite database (with WAL) and the index folder."""
    sqlite = sum(p.stat().st_size for p in directory.glob("library.sqlite*") if p.is_file())
    index = sum(p.stat().st_size for p in (directory / "index").rglob("*") if p.is_file())
    return {"sqlite_bytes": sqlite, "index_bytes": index}
