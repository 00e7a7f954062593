"""Keep the search index next to the library database up to date with the library.

The index follows the store's change log (SqlStore.changes): bringing it up to date
costs time in proportion to what changed. Searches keep reading the last committed
version meanwhile; a rebuild is written beside the index and swapped in.
"""

from __future__ import annotations

import fcntl
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from evident import __version__
from evident.config import IndexSettings
from evident.errors import IndexMismatch
from evident.index.engine import (
    FORMAT_VERSION,
    IndexManifest,
    TantivyUsearchIndex,
    read_manifest,
)
from evident.index.lexical import TOKENIZER_VERSION
from evident.index.milvus import MilvusIndex, connect, milvus_uri
from evident.models import DocumentKind, IndexedPassage
from evident.protocols import Embedder
from evident.store.sql import Row, SqlStore

if TYPE_CHECKING:
    from pymilvus import MilvusClient

Progress = Callable[[int, int], None]
T = TypeVar("T")

# Passages read, tokenised and indexed per step: bounds the memory of a build.
BATCH = 2000


def passage_text(row: Row) -> str:
    """The text a passage is indexed under: document title, section heading, passage."""
    parts = [row["title"], row["section"], row["text"]]
    return "\n".join(p for p in parts if p)


def embed_missing(
    store: SqlStore, embedder: Embedder, batch: int = 64, on_progress: Progress | None = None
) -> int:
    """Embed passages that have no vector yet; each batch is committed, so it resumes."""
    total = store.count_chunks() - store.count_embeddings(embedder.name)
    done = 0
    after = 0
    while rows := store.missing_embeddings(embedder.name, after, max(batch, 1024)):
        after = rows[-1]["rowid"]
        for i in range(0, len(rows), batch):
            part = rows[i : i + batch]
            vectors = embedder.embed([passage_text(r) for r in part])
            store.put_embeddings(embedder.name, [r["chunk_id"] for r in part], vectors)
            done += len(part)
            if on_progress:
                on_progress(done, max(total, done))
    return done


def _expected(embedder: Embedder | None) -> dict[str, object]:
    return {
        "format_version": FORMAT_VERSION,
        "embedder": embedder.name if embedder else "none",
        "tokenizer": TOKENIZER_VERSION,
    }


def check_manifest(directory: Path, raw: dict[str, object], embedder: Embedder | None) -> None:
    """Refuse an index built in another format, with another embedder or tokenizer.

    Raises:
        IndexMismatch: it says what differs and gives the rebuild command.
    """
    expected = _expected(embedder)
    found = {k: raw.get(k, 1 if k == "tokenizer" else None) for k in expected}
    if found == expected:
        return
    diffs = ", ".join(
        f"{k}: index has {found[k]!r}, settings say {v!r}"
        for k, v in expected.items()
        if found[k] != v
    )
    raise IndexMismatch(
        f"the search index in {directory} was built with other settings ({diffs}); "
        "rebuild it with `evident index --rebuild`"
    )


@contextmanager
def index_lock(directory: Path, *, wait: bool = True) -> Iterator[bool]:
    """Hold the index's inter-process write lock; yields False when it is busy and not wait.

    The server, `evident index` and an ingest may run in separate processes on one
    library; one writes at a time. Readers never take it: they read committed versions.
    """
    directory.parent.mkdir(parents=True, exist_ok=True)
    with open(directory.with_name(directory.name + ".lock"), "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _indexed(rows: Iterable[Row], vectors: dict[str, bytes]) -> list[IndexedPassage]:
    return [
        IndexedPassage(
            chunk_id=r["chunk_id"],
            document_id=r["document_id"],
            text=passage_text(r),
            kind=DocumentKind(r["kind"]),
            year=int(r["year"] or 0),
            vector=(
                np.frombuffer(vectors[r["chunk_id"]], dtype=np.float16)
                if r["chunk_id"] in vectors
                else None
            ),
        )
        for r in rows
    ]


def _new_manifest(store: SqlStore, embedder: Embedder | None, through: int) -> IndexManifest:
    now = datetime.now(UTC).isoformat()
    return IndexManifest(
        format_version=FORMAT_VERSION,
        package_version=__version__,
        embedder=embedder.name if embedder else "none",
        dim=embedder.dim if embedder else 0,
        tokenizer=TOKENIZER_VERSION,
        library_version=store.library_version(),
        passages=0,
        embedded=0,
        through=through,
        vectors="",
        built_at=now,
        updated_at=now,
    )


def _batches(rows: Iterable[T], size: int) -> Iterator[list[T]]:
    part: list[T] = []
    for row in rows:
        part.append(row)
        if len(part) == size:
            yield part
            part = []
    if part:
        yield part


def _build(
    store: SqlStore, directory: Path, embedder: Embedder | None, on_progress: Progress | None
) -> IndexManifest:
    """Build the whole index beside directory, streaming the library, and swap it in."""
    tmp = Path(tempfile.mkdtemp(prefix=f"{directory.name}.tmp-", dir=directory.parent))
    with store.snapshot():
        through = store.last_change()
        index = TantivyUsearchIndex.create(tmp, _new_manifest(store, embedder, through))
        total = store.count_chunks()
        done = 0
        for part in _batches(store.iter_passages(), BATCH):
            index.upsert(_indexed(part, {}))
            done += len(part)
            if on_progress:
                on_progress(done, total)
        if embedder is not None:
            for pairs in _batches(store.iter_embeddings(embedder.name), BATCH * 5):
                index.put_vectors(
                    [p[0] for p in pairs],
                    np.frombuffer(b"".join(p[1] for p in pairs), dtype=np.float16).reshape(
                        len(pairs), embedder.dim
                    ),
                )
        index.commit(updated_at=datetime.now(UTC).isoformat())
    old = directory.with_name(directory.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if directory.exists():
        directory.rename(old)
    tmp.rename(directory)
    shutil.rmtree(old, ignore_errors=True)
    store.forget_changes(through)
    return TantivyUsearchIndex.open(directory).manifest


def _apply_changes(
    store: SqlStore,
    index: TantivyUsearchIndex | MilvusIndex,
    embedder: Embedder | None,
    on_progress: Progress | None,
) -> IndexManifest:
    """Apply the library's changes since the index's last commit, and commit."""
    with store.snapshot():
        through = store.last_change()
        if through == index.manifest.through:
            return index.manifest
        passages, vectors = store.changes(index.manifest.through, through)
        total = len(passages) + len(vectors)
        for i in range(0, len(passages), BATCH):
            part = passages[i : i + BATCH]
            rows = store.passages_by_id(part)
            present = {r["chunk_id"] for r in rows}
            index.remove([c for c in part if c not in present])
            found = store.embeddings_by_id(embedder.name, part) if embedder else {}
            index.upsert(_indexed(rows, found))
            if on_progress:
                on_progress(i + len(part), total)
        if embedder is not None:
            for i in range(0, len(vectors), BATCH * 5):
                found = store.embeddings_by_id(embedder.name, vectors[i : i + BATCH * 5])
                held = list(found)
                if held:
                    matrix = np.frombuffer(b"".join(found.values()), dtype=np.float16)
                    index.put_vectors(held, matrix.reshape(len(held), embedder.dim))
                if on_progress:
                    on_progress(len(passages) + i + len(held), total)
        version = store.library_version()
    # Committed after the read snapshot ends: a Milvus index records its manifest in the
    # library database, which must not be written from inside a read transaction.
    manifest = index.commit(
        through=through, library_version=version, updated_at=datetime.now(UTC).isoformat()
    )
    store.forget_changes(through)
    return manifest


def sync_index(
    store: SqlStore,
    directory: Path,
    embedder: Embedder | None,
    *,
    rebuild: bool = False,
    wait: bool = True,
    on_progress: Progress | None = None,
) -> IndexManifest | None:
    """Bring the index up to date with the library (embedding nothing: see embed_missing).

    Builds it when there is none (or rebuild); otherwise applies the changes since its
    last commit. Returns the committed manifest, or None when another writer holds the
    index and wait is False.

    Raises:
        IndexMismatch: the index was built in another format or with another embedder.
    """
    with index_lock(directory, wait=wait) as held:
        if not held:
            return None
        for leftover in directory.parent.glob(f"{directory.name}.tmp*"):  # a killed build's
            shutil.rmtree(leftover, ignore_errors=True)
        raw = None if rebuild else read_manifest(directory)
        if raw is None:
            return _build(store, directory, embedder, on_progress)
        check_manifest(directory, raw, embedder)
        return _apply_changes(store, TantivyUsearchIndex.open(directory), embedder, on_progress)


def open_index(
    store: SqlStore,
    directory: Path,
    embedder: Embedder | None,
    settings: IndexSettings | None = None,
) -> TantivyUsearchIndex:
    """Open the committed index, building it first when there is none.

    settings give BM25's k1 and b (applied when searching; default: the shipped ones).

    Raises:
        IndexMismatch: the index was built in another format or with another embedder.
    """
    raw = read_manifest(directory)
    if raw is None:
        sync_index(store, directory, embedder)
        raw = read_manifest(directory)
        assert raw is not None
    check_manifest(directory, raw, embedder)
    settings = settings or IndexSettings.model_validate({})
    return TantivyUsearchIndex.open(directory, settings.bm25_k1, settings.bm25_b)


def behind(store: SqlStore, manifest: IndexManifest) -> bool:
    """Return True if the library changed since the index's last commit."""
    return store.last_change() != manifest.through


# -- the Milvus backend (index.backend = "milvus") ---------------------------------------------
def open_milvus(
    store: SqlStore, settings: IndexSettings, library: Path, embedder: Embedder | None
) -> MilvusIndex:
    """Open the Milvus index, building it first when the library has none there.

    Raises:
        IndexMismatch: it was built in another format or with another embedder.
        BackendUnavailable: Milvus cannot be reached, or the milvus extra is missing.
    """
    raw = MilvusIndex.read_manifest(store, settings.milvus_collection)
    if raw is None:
        sync_milvus(store, settings, library, embedder)
        raw = MilvusIndex.read_manifest(store, settings.milvus_collection)
        assert raw is not None
    check_manifest(Path(settings.milvus_collection), raw, embedder)
    client = connect(milvus_uri(settings, library))
    return MilvusIndex(client, settings.milvus_collection, store, IndexManifest(**raw), settings)


def sync_milvus(
    store: SqlStore,
    settings: IndexSettings,
    library: Path,
    embedder: Embedder | None,
    *,
    rebuild: bool = False,
    wait: bool = True,
    on_progress: Progress | None = None,
) -> IndexManifest | None:
    """Bring the Milvus collection up to date with the library, as sync_index does for the
    embedded index: build it when there is none (or rebuild), else apply the changes."""
    with index_lock(library / "milvus-index", wait=wait) as held:
        if not held:
            return None
        client = connect(milvus_uri(settings, library))
        collection = settings.milvus_collection
        raw = None if rebuild else MilvusIndex.read_manifest(store, collection)
        if raw is None or not client.has_collection(collection):
            return _build_milvus(store, client, settings, embedder, on_progress)
        check_manifest(Path(collection), raw, embedder)
        index = MilvusIndex(client, collection, store, IndexManifest(**raw), settings)
        return _apply_changes(store, index, embedder, on_progress)


def _build_milvus(
    store: SqlStore,
    client: MilvusClient,
    settings: IndexSettings,
    embedder: Embedder | None,
    on_progress: Progress | None,
) -> IndexManifest:
    """Load the whole library into a fresh collection (searches see it fill up)."""
    with store.snapshot():
        through = store.last_change()
        index = MilvusIndex.create(
            client,
            settings.milvus_collection,
            store,
            _new_manifest(store, embedder, through),
            settings,
        )
        total = store.count_chunks()
        done = 0
        for part in _batches(store.iter_passages(), BATCH):
            vectors = (
                store.embeddings_by_id(embedder.name, [r["chunk_id"] for r in part])
                if embedder is not None
                else {}
            )
            index.upsert(_indexed(part, vectors))
            done += len(part)
            if on_progress:
                on_progress(done, total)
    manifest = index.commit(updated_at=datetime.now(UTC).isoformat())  # outside the snapshot
    store.forget_changes(through)
    return manifest
