"""The embedded PassageIndex: Tantivy for BM25, usearch (HNSW, float16, mmap) for vectors.

One folder holds both and a manifest. Searches read the last committed version through
memory maps; writes go to a Tantivy writer and a private copy of the vector index, and
become visible at commit, when the manifest is replaced (one rename). A process killed
mid-write leaves the last committed version as it was.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import tantivy
from usearch.index import Index as VectorGraph

from evident.index.lexical import tokenize
from evident.models import Filters, IndexedPassage
from evident.protocols import FloatMatrix

# Bumped when the folder's layout changes; an index of another format is refused with
# the rebuild command (format 1 was bm25s + a numpy matrix, rebuilt on every ingest).
FORMAT_VERSION = 2
MANIFEST = "manifest.json"

# Below this many vectors dense search is exact (a scan of float16 rows is a few
# milliseconds); above it, HNSW. Search expansion 400: on clustered vectors
# (bench/scale.py) recall@10 against exact search was 0.91 at 64, 0.97 at 160, 0.99 at 400.
EXACT_BELOW = 20_000
CONNECTIVITY = 16
EXPANSION_ADD = 128
EXPANSION_SEARCH = 400
WRITER_HEAP = 64_000_000
# How many of Tantivy's best matches (times k) are rescored with the tuned BM25.
RESCORE_DEPTH = 1


@dataclass(frozen=True)
class IndexManifest:
    """What an index holds and was built with; a mismatch with settings means rebuild.

    through: the last library change (SqlStore.last_change) the index reflects.
    vectors: the file of the vector graph in this version ("" when none).
    """

    format_version: int
    package_version: str
    embedder: str
    dim: int
    tokenizer: int
    library_version: str
    passages: int
    embedded: int
    through: int
    vectors: str
    built_at: str
    updated_at: str

    def parameters(self) -> dict[str, object]:
        return {
            "format_version": self.format_version,
            "embedder": self.embedder,
            "tokenizer": self.tokenizer,
        }


def read_manifest(directory: Path) -> dict[str, Any] | None:
    """Return the raw manifest of the index in directory (None when there is none)."""
    try:
        data: dict[str, Any] = json.loads((directory / MANIFEST).read_text())
    except FileNotFoundError:
        return None
    return data


def passage_key(chunk_id: str) -> int:
    """The vector graph's integer key of a passage: 60 bits of its (sha256) chunk id."""
    return int(chunk_id[:15], 16)


def _tail(chunk_id: str) -> int:
    """The rest of a 20-hex-digit chunk id after its key (-1 for any other id)."""
    if len(chunk_id) == 20 and chunk_id == chunk_id.lower():
        try:
            return int(chunk_id[15:], 16)
        except ValueError:
            return -1
    return -1


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("chunk_id", stored=True, tokenizer_name="raw", index_option="basic")
    # Chunk ids (20 hex digits) are also kept as two numbers in fast (columnar) fields, so
    # a search maps hits to ids without reading stored documents.
    builder.add_unsigned_field("key", stored=True, indexed=True, fast=True)
    builder.add_integer_field("tail", fast=True)
    builder.add_text_field("kind", tokenizer_name="raw", index_option="basic")
    builder.add_integer_field("year", indexed=True, fast=True)
    # Passages are tokenised in Python (lexical.tokenize: stop words, Snowball stems) and
    # indexed as whitespace-joined stems, so Tantivy sees exactly the tuned tokens.
    # Stored too: the best matches are rescored with BM25's tuned k1 and b (Tantivy's own
    # scoring has k1 1.2 and b 0.75 built in), which needs their term counts.
    builder.add_text_field("text", stored=True, tokenizer_name="stems", index_option="freq")
    builder.add_unsigned_field("length", fast=True)
    return builder.build()


SCHEMA = _schema()


def _open_lexical(path: Path) -> tantivy.Index:
    path.mkdir(parents=True, exist_ok=True)
    index = tantivy.Index(SCHEMA, path=str(path), reuse=True)
    index.register_tokenizer(
        "stems", tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()
    )
    return index


def _filter_query(filters: Filters | None) -> tantivy.Query | None:
    if filters is None or filters.empty:
        return None
    parts: list[tantivy.Query] = []
    if filters.kinds:
        parts.append(tantivy.Query.term_set_query(SCHEMA, "kind", [str(k) for k in filters.kinds]))
    if filters.year_from is not None or filters.year_to is not None:
        low = filters.year_from if filters.year_from is not None else 1
        parts.append(
            tantivy.Query.range_query(
                SCHEMA, "year", tantivy.FieldType.Integer, max(low, 1), filters.year_to
            )
        )
    return tantivy.Query.const_score_query(
        tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in parts]), 0.0
    )


class TantivyUsearchIndex:
    """A PassageIndex in one folder (see the module docstring)."""

    def __init__(
        self, directory: Path, manifest: IndexManifest, k1: float = 0.6, b: float = 1.0
    ) -> None:
        self.directory = directory
        self.manifest = manifest
        self.k1, self.b = k1, b
        self._lengths: tuple[tantivy.Searcher, float] | None = None
        self._lexical = _open_lexical(directory / "lexical")
        self._graph = self._open_graph(manifest)
        self._stamp = self._manifest_stamp()
        self._reopen_lock = threading.Lock()
        # Pending writes (see upsert/remove; visible after commit).
        self._writer: tantivy.IndexWriter | None = None
        self._draft: VectorGraph | None = None

    # -- opening and reopening -------------------------------------------------------------
    @classmethod
    def create(cls, directory: Path, manifest: IndexManifest) -> TantivyUsearchIndex:
        """Start an empty index in directory (nothing is searchable until commit)."""
        directory.mkdir(parents=True, exist_ok=True)
        _write_manifest(directory, manifest)
        return cls(directory, manifest)

    @classmethod
    def open(cls, directory: Path, k1: float = 0.6, b: float = 1.0) -> TantivyUsearchIndex:
        """Open the last committed version of the index in directory (k1, b: BM25's)."""
        raw = read_manifest(directory)
        if raw is None:
            raise FileNotFoundError(directory / MANIFEST)
        return cls(directory, IndexManifest(**raw), k1, b)

    def _open_graph(self, manifest: IndexManifest) -> VectorGraph | None:
        if not manifest.vectors:
            return None
        return VectorGraph.restore(
            str(self.directory / manifest.vectors), view=True, expansion_search=EXPANSION_SEARCH
        )

    def _manifest_stamp(self) -> tuple[int, int]:
        stat = (self.directory / MANIFEST).stat()
        return stat.st_ino, stat.st_mtime_ns

    def reopen_if_committed(self) -> bool:
        """Switch to a version another process committed since; True if it switched."""
        try:
            stamp = self._manifest_stamp()
        except FileNotFoundError:
            return False
        if stamp == self._stamp:
            return False
        with self._reopen_lock:
            raw = read_manifest(self.directory)
            if raw is None or raw.get("format_version") != FORMAT_VERSION:
                return False
            manifest = IndexManifest(**raw)
            graph = self._open_graph(manifest)
            self._lexical.reload()
            self._graph, self.manifest, self._stamp = graph, manifest, stamp
        return True

    # -- writes ------------------------------------------------------------------------------
    def _writing(self) -> tantivy.IndexWriter:
        if self._writer is None:
            self._writer = self._lexical.writer(WRITER_HEAP, 1)
        return self._writer

    def _drafting(self, dim: int) -> VectorGraph:
        if self._draft is None:
            current = self.manifest.vectors
            if current:
                self._draft = VectorGraph.restore(
                    str(self.directory / current), view=False, expansion_search=EXPANSION_SEARCH
                )
            if self._draft is None:
                self._draft = VectorGraph(
                    ndim=dim,
                    metric="ip",
                    dtype="f16",
                    connectivity=CONNECTIVITY,
                    expansion_add=EXPANSION_ADD,
                    expansion_search=EXPANSION_SEARCH,
                )
        return self._draft

    def upsert(self, passages: Sequence[IndexedPassage]) -> None:
        """Add passages, replacing those with the same chunk ids (visible after commit)."""
        if not passages:
            return
        writer = self._writing()
        texts = tokenize([p.text for p in passages])
        for passage, tokens in zip(passages, texts, strict=True):
            writer.delete_documents_by_term("chunk_id", passage.chunk_id)
            doc = tantivy.Document()
            doc.add_text("chunk_id", passage.chunk_id)
            doc.add_unsigned("key", passage_key(passage.chunk_id))
            doc.add_integer("tail", _tail(passage.chunk_id))
            doc.add_text("kind", str(passage.kind))
            doc.add_integer("year", int(passage.year or 0))
            # Two spaces between stems: str.count(" stem ") then counts every occurrence.
            doc.add_text("text", "  ".join(tokens))
            doc.add_unsigned("length", len(tokens))
            writer.add_document(doc)
        with_vectors = [p for p in passages if p.vector is not None]
        self.put_vectors(
            [p.chunk_id for p in with_vectors],
            np.array([p.vector for p in with_vectors], dtype=np.float32),
        )
        without = [p.chunk_id for p in passages if p.vector is None]
        if without and (self._draft is not None or self.manifest.vectors):
            self._remove_vectors(without)

    def put_vectors(self, chunk_ids: Sequence[str], vectors: npt.NDArray[np.floating[Any]]) -> None:
        """Set the vectors of passages already in the index (visible after commit)."""
        if not chunk_ids:
            return
        draft = self._drafting(vectors.shape[1])
        keys = np.array([passage_key(c) for c in chunk_ids], dtype=np.uint64)
        self._remove_vectors(chunk_ids)
        draft.add(keys, vectors.astype(np.float32), threads=2)

    def _remove_vectors(self, chunk_ids: Sequence[str]) -> None:
        if self._draft is None and not self.manifest.vectors:
            return
        draft = self._drafting(self.manifest.dim)
        keys = np.array([passage_key(c) for c in chunk_ids], dtype=np.uint64)
        held = keys[np.asarray(draft.contains(keys), dtype=bool)]
        if len(held):
            draft.remove(held)

    def remove(self, chunk_ids: Sequence[str]) -> None:
        """Drop passages (visible after commit); ids not held are ignored."""
        if not chunk_ids:
            return
        writer = self._writing()
        for chunk_id in chunk_ids:
            writer.delete_documents_by_term("chunk_id", chunk_id)
        self._remove_vectors(chunk_ids)

    def commit(self, **changes: Any) -> IndexManifest:
        """Publish the pending writes with a new manifest (fields in changes replaced)."""
        passages = self.manifest.passages
        if self._writer is not None:
            self._writer.commit()
            self._writer.wait_merging_threads()
            self._writer = None
            self._lexical.reload()
            passages = self._lexical.searcher().num_docs
        vectors, embedded = self.manifest.vectors, self.manifest.embedded
        if self._draft is not None:
            generation = int(vectors.split("-")[1].split(".")[0]) + 1 if vectors else 1
            vectors = f"vectors-{generation}.usearch"
            partial = self.directory / (vectors + ".partial")
            self._draft.save(str(partial))
            with open(partial, "rb") as handle:
                os.fsync(handle.fileno())
            partial.rename(self.directory / vectors)
            embedded = len(self._draft)
            self._draft = None
        manifest = replace(
            self.manifest, passages=passages, embedded=embedded, vectors=vectors, **changes
        )
        _write_manifest(self.directory, manifest)
        # Older vector files: readers that mapped them keep them until they switch.
        for old in self.directory.glob("vectors-*.usearch*"):
            if old.name != vectors:
                old.unlink(missing_ok=True)
        with self._reopen_lock:
            self._graph, self.manifest = self._open_graph(manifest), manifest
            self._stamp = self._manifest_stamp()
        return manifest

    # -- searches ----------------------------------------------------------------------------
    def lexical_search(
        self, query: str, k: int, filters: Filters | None = None
    ) -> list[tuple[str, float]]:
        """Return (chunk_id, BM25 score) for the best k passages with a positive score."""
        tokens = tokenize([query])[0]
        if not tokens or k < 1:
            return []
        # Repeated query words count once per repeat, as in BM25's query-term sum.
        terms = [
            (tantivy.Occur.Should, tantivy.Query.term_query(SCHEMA, "text", t)) for t in tokens
        ]
        query_ = tantivy.Query.boolean_query(terms)
        restrict = _filter_query(filters)
        if restrict is not None:
            query_ = tantivy.Query.boolean_query(
                [(tantivy.Occur.Must, query_), (tantivy.Occur.Must, restrict)]
            )
        searcher = self._lexical.searcher()
        # Tantivy's top passages by its own BM25, rescored with the tuned k1 and b.
        depth = k * RESCORE_DEPTH
        addresses = [a for s, a in searcher.search(query_, depth, count=False).hits if s > 0]
        if not addresses:
            return []
        scores = self._bm25(searcher, tokens, addresses)
        order = np.argsort(-scores, kind="stable")[:k]
        ids = _chunk_ids(searcher, [addresses[i] for i in order])
        return [(cid, float(scores[i])) for cid, i in zip(ids, order, strict=True)]

    def _bm25(
        self, searcher: tantivy.Searcher, tokens: list[str], addresses: list[tantivy.DocAddress]
    ) -> npt.NDArray[np.float64]:
        """BM25 (Lucene's idf, as bm25s) of the passages for the query tokens."""
        n = searcher.num_docs
        if self._lengths is None or self._lengths[0] is not searcher:
            total = searcher.aggregate(
                tantivy.Query.all_query(), {"total": {"sum": {"field": "length"}}}
            )
            self._lengths = (searcher, float(total["total"]["value"] or 0.0) / max(n, 1))
        average = max(self._lengths[1], 1e-9)
        weights = {
            t: math.log(1 + (n - df + 0.5) / (df + 0.5))
            for t in set(tokens)
            for df in [searcher.doc_freq("text", t)]
        }
        lengths = np.array(searcher.fast_field_values("length", addresses), dtype=np.float64)
        norm = self.k1 * (1 - self.b + self.b * lengths / average)
        scores = np.zeros(len(addresses), dtype=np.float64)
        needles = [(f" {t} ", weights[t]) for t in tokens]
        for i, address in enumerate(addresses):
            text = f" {searcher.doc(address)['text'][0]} "
            for needle, weight in needles:
                if tf := text.count(needle):
                    scores[i] += weight * tf / (tf + norm[i])
        return scores

    def dense_search(
        self, vector: FloatMatrix, k: int, filters: Filters | None = None
    ) -> list[tuple[str, float]]:
        """Return (chunk_id, cosine) for the k nearest passages with a vector, best first.

        With filters, nearest neighbours are fetched eight times over and filtered; when
        too few pass, the search is repeated exactly.
        """
        graph = self._graph
        if graph is None or len(graph) == 0 or k < 1:
            return []
        size = len(graph)
        exact = size <= EXACT_BELOW
        restrict = _filter_query(filters)
        fetch = min(size, k if restrict is None else k * 8)
        found = self._resolve(graph.search(vector, fetch, exact=exact), restrict)
        if restrict is not None and len(found) < k and not exact and fetch < size:
            found = self._resolve(graph.search(vector, min(size, k * 64), exact=True), restrict)
        return found[:k]

    def _resolve(self, matches: Any, restrict: tantivy.Query | None) -> list[tuple[str, float]]:
        """Map graph keys to chunk ids (dropping those the filters exclude), best first."""
        keys = [int(key) for key in matches.keys]
        if not keys:
            return []
        query = tantivy.Query.term_set_query(SCHEMA, "key", keys)
        if restrict is not None:
            query = tantivy.Query.boolean_query(
                [(tantivy.Occur.Must, query), (tantivy.Occur.Must, restrict)]
            )
        searcher = self._lexical.searcher()
        addresses = [a for _, a in searcher.search(query, len(keys), count=False).hits]
        held = searcher.fast_field_values("key", addresses)
        ids = dict(zip(held, _chunk_ids(searcher, addresses), strict=True))
        return [
            (ids[key], 1.0 - float(distance))
            for key, distance in zip(keys, matches.distances, strict=True)
            if key in ids
        ]

    def vectors(self, chunk_ids: Sequence[str]) -> dict[str, FloatMatrix]:
        """Return the stored unit vector (float32) of each passage that has one."""
        graph = self._graph
        if graph is None or not chunk_ids:
            return {}
        keys = np.array([passage_key(c) for c in chunk_ids], dtype=np.uint64)
        # Ask only for held keys: usearch returns stale memory for a removed one.
        held = np.asarray(graph.contains(keys), dtype=bool).reshape(-1)
        if not held.any():
            return {}
        got: Any = graph.get(keys[held], dtype="f32")
        rows = list(got) if isinstance(got, tuple) or np.ndim(got) == 2 else [got]
        wanted = [c for c, h in zip(chunk_ids, held, strict=True) if h]
        return {c: v for c, v in zip(wanted, rows, strict=True) if v is not None}


def _chunk_ids(searcher: tantivy.Searcher, addresses: list[tantivy.DocAddress]) -> list[str]:
    """Return the chunk ids of hits, from fast fields (stored documents only for odd ids)."""
    keys = searcher.fast_field_values("key", addresses)
    tails = searcher.fast_field_values("tail", addresses)
    return [
        f"{key:015x}{tail:05x}"
        if isinstance(tail, int) and tail >= 0
        else searcher.doc(a)["chunk_id"][0]
        for key, tail, a in zip(keys, tails, addresses, strict=True)
    ]


def _write_manifest(directory: Path, manifest: IndexManifest) -> None:
    """Replace the manifest in one rename, the moment a new version becomes current."""
    partial = directory / (MANIFEST + ".partial")
    with open(partial, "w") as handle:
        handle.write(json.dumps(asdict(manifest), indent=2))
        handle.flush()
        os.fsync(handle.fileno())
    partial.rename(directory / MANIFEST)
