"""Build, save and load the search index that sits next to the library database."""

from __future__ import annotations

import fcntl
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from evident import __version__
from evident.config import IndexSettings
from evident.errors import IndexMismatch
from evident.index.dense import NumpyVectorIndex
from evident.index.lexical import TOKENIZER_VERSION, Bm25Index
from evident.models import DocumentKind
from evident.protocols import Embedder, EmbeddingStore, IndexSource
from evident.store.sql import Row

KINDS = list(DocumentKind)
FORMAT_VERSION = 1

Progress = Callable[[int, int], None]


def passage_text(row: Row) -> str:
    """The text a passage is indexed under: document title, section heading, passage."""
    parts = [row["title"], row["section"], row["text"]]
    return "\n".join(p for p in parts if p)


@dataclass(frozen=True)
class IndexManifest:
    """What an index was built with; a mismatch with current settings means rebuild."""

    format_version: int
    package_version: str
    embedder: str
    dim: int
    bm25_k1: float
    bm25_b: float
    library_version: str
    passages: int
    embedded: int
    built_at: str
    # Manifests written before the tokenizer was stamped used version 1.
    tokenizer: int = 1

    def parameters(self) -> dict[str, object]:
        return {
            "format_version": self.format_version,
            "embedder": self.embedder,
            "bm25_k1": self.bm25_k1,
            "bm25_b": self.bm25_b,
            "tokenizer": self.tokenizer,
        }


@dataclass
class SearchIndex:
    """Everything retrieval needs in memory, row-aligned with chunk_ids."""

    manifest: IndexManifest
    chunk_ids: list[str]
    document_ids: list[str]
    kinds: npt.NDArray[np.int8]
    years: npt.NDArray[np.int16]
    lexical: Bm25Index
    dense: NumpyVectorIndex | None
    _rows: dict[str, int] | None = None

    def row_of(self, chunk_id: str) -> int | None:
        """Return the row of a passage, or None if it is not in this index."""
        if self._rows is None:
            self._rows = {cid: i for i, cid in enumerate(self.chunk_ids)}
        return self._rows.get(chunk_id)


def embed_missing(
    store: EmbeddingStore, embedder: Embedder, batch: int = 64, on_progress: Progress | None = None
) -> int:
    """Embed passages that have no vector yet; each batch is committed, so it resumes."""
    rows = store.missing_embeddings(embedder.name)
    for i in range(0, len(rows), batch):
        part = rows[i : i + batch]
        vectors = embedder.embed([passage_text(r) for r in part])
        store.put_embeddings(embedder.name, [r["chunk_id"] for r in part], vectors)
        if on_progress:
            on_progress(min(i + batch, len(rows)), len(rows))
    return len(rows)


def _expected(settings: IndexSettings, embedder: Embedder | None) -> dict[str, object]:
    return {
        "format_version": FORMAT_VERSION,
        "embedder": embedder.name if embedder else "none",
        "bm25_k1": settings.bm25_k1,
        "bm25_b": settings.bm25_b,
        "tokenizer": TOKENIZER_VERSION,
    }


def build_index(
    store: IndexSource, directory: Path, settings: IndexSettings, embedder: Embedder | None
) -> SearchIndex:
    """Build the index from the store (embedding nothing: call embed_missing first)."""
    rows = list(store.iter_passages())
    chunk_ids = [r["chunk_id"] for r in rows]
    kind_code = {k.value: i for i, k in enumerate(KINDS)}
    kinds = np.array([kind_code[r["kind"]] for r in rows], dtype=np.int8)
    years = np.array([r["year"] or 0 for r in rows], dtype=np.int16)
    lexical = Bm25Index.build([passage_text(r) for r in rows], settings.bm25_k1, settings.bm25_b)
    dense = None
    embedded = 0
    if embedder is not None:
        vectors, missing = store.load_embeddings(embedder.name, chunk_ids, embedder.dim)
        present = np.abs(vectors).sum(axis=1) > 0
        dense = NumpyVectorIndex(vectors, present)
        embedded = len(rows) - missing
    manifest = IndexManifest(
        format_version=FORMAT_VERSION,
        package_version=__version__,
        embedder=embedder.name if embedder else "none",
        dim=embedder.dim if embedder else 0,
        bm25_k1=settings.bm25_k1,
        bm25_b=settings.bm25_b,
        library_version=store.library_version(),
        passages=len(rows),
        embedded=embedded,
        built_at=datetime.now(UTC).isoformat(),
        tokenizer=TOKENIZER_VERSION,
    )
    index = SearchIndex(
        manifest, chunk_ids, [r["document_id"] for r in rows], kinds, years, lexical, dense
    )
    _save(index, directory)
    return index


@contextmanager
def index_lock(directory: Path, *, exclusive: bool) -> Iterator[None]:
    """Hold the index's inter-process lock: exclusive to replace it, shared to read it.

    The server, `evident index` and an ingest may run in separate processes on one
    library; without the lock two saves trampled one temporary folder, and a reader could
    open the index halfway through a swap.
    """
    directory.parent.mkdir(parents=True, exist_ok=True)
    with open(directory.with_name(directory.name + ".lock"), "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _save(index: SearchIndex, directory: Path) -> None:
    with index_lock(directory, exclusive=True):
        # Left by a killed save: nobody else writes while this process holds the lock.
        for leftover in directory.parent.glob(f"{directory.name}.tmp*"):
            shutil.rmtree(leftover, ignore_errors=True)
        # Write to a temporary folder and swap it in, so a kill never leaves half an index.
        tmp = Path(tempfile.mkdtemp(prefix=f"{directory.name}.tmp-", dir=directory.parent))
        _write(index, tmp)
        old = directory.with_name(directory.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if directory.exists():
            directory.rename(old)
        tmp.rename(directory)
        shutil.rmtree(old, ignore_errors=True)


def _write(index: SearchIndex, tmp: Path) -> None:
    (tmp / "bm25").mkdir(parents=True)
    index.lexical.save(tmp / "bm25")
    np.save(tmp / "kinds.npy", index.kinds)
    np.save(tmp / "years.npy", index.years)
    if index.dense is not None:
        np.save(tmp / "vectors.npy", index.dense.vectors.astype(np.float16))
        np.save(tmp / "present.npy", index.dense.present)
    (tmp / "rows.json").write_text(json.dumps([index.chunk_ids, index.document_ids]))
    (tmp / "manifest.json").write_text(json.dumps(asdict(index.manifest), indent=2))


def read_manifest(directory: Path) -> IndexManifest | None:
    path = directory / "manifest.json"
    if not path.exists():
        return None
    return IndexManifest(**json.loads(path.read_text()))


def load_index(
    store: IndexSource, directory: Path, settings: IndexSettings, embedder: Embedder | None
) -> SearchIndex:
    """Load the saved index, rebuilding it when the library changed since it was built.

    Raises:
        IndexMismatch: the index was built with other parameters or another embedder.
    """
    with index_lock(directory, exclusive=False):
        loaded = _load_current(store, directory, settings, embedder)
    # Rebuilt outside the shared lock: the save takes the exclusive one.
    return loaded if loaded is not None else build_index(store, directory, settings, embedder)


def _load_current(
    store: IndexSource, directory: Path, settings: IndexSettings, embedder: Embedder | None
) -> SearchIndex | None:
    """The saved index if it matches the library, None when it must be (re)built."""
    manifest = read_manifest(directory)
    if manifest is None:
        return None
    expected = _expected(settings, embedder)
    if manifest.parameters() != expected:
        diffs = ", ".join(
            f"{k}: index has {manifest.parameters()[k]!r}, settings say {v!r}"
            for k, v in expected.items()
            if manifest.parameters()[k] != v
        )
        raise IndexMismatch(
            f"the search index in {directory} was built with other settings ({diffs}); "
            "rebuild it with `evident index --rebuild`"
        )
    stale = manifest.library_version != store.library_version() or (
        embedder is not None and manifest.embedded != store.count_embeddings(embedder.name)
    )
    if stale:
        return None
    chunk_ids, document_ids = json.loads((directory / "rows.json").read_text())
    dense = None
    if embedder is not None and (directory / "vectors.npy").exists():
        dense = NumpyVectorIndex(
            np.load(directory / "vectors.npy").astype(np.float32),
            np.load(directory / "present.npy"),
        )
    return SearchIndex(
        manifest,
        chunk_ids,
        document_ids,
        np.load(directory / "kinds.npy"),
        np.load(directory / "years.npy"),
        Bm25Index.load(directory / "bm25", len(chunk_ids)),
        dense,
    )
