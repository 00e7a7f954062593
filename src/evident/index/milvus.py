"""A PassageIndex in Milvus (index.backend = "milvus"): passages, BM25 and vectors live in
a Milvus collection, and both searches run server-side.

BM25 is Milvus's own BM25 function over a text field holding each passage's tokens from
evident's tokenizer (stop words and Snowball stems, whitespace-joined), so Milvus scores
exactly the terms the embedded index does, with the same k1 and b (its scores are the
embedded index's times k1 + 1, a constant). Dense search is
cosine over the stored unit vectors. Fusion, priors, feedback and MMR stay in evident's
retrieve(): on BioASQ it scored higher than Milvus's own hybrid search (RRF or weighted;
see docs/benchmarks.md), so only the two server-side searches are used.

index.milvus_uri names the server (http://host:19530); empty means Milvus Lite, an
embedded Milvus in one file in the library directory (the tests use it). The index's
manifest (what it reflects of the library) is kept in the library database, so every
worker and machine sees the same one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from evident.config import IndexSettings
from evident.errors import BackendUnavailable
from evident.index.engine import IndexManifest
from evident.index.lexical import tokenize
from evident.models import Filters, IndexedPassage
from evident.protocols import FloatMatrix
from evident.store.sql import SqlStore

if TYPE_CHECKING:
    from pymilvus import MilvusClient

INSTALL_HINT = (
    "the Milvus index needs the milvus extra; install it with `pip install 'evident[milvus]'` "
    "(or `.venv/bin/pip install pymilvus==3.0.2 milvus-lite==3.2.2` in a source checkout)"
)
# Strong consistency: a passage ingested (or a vector stored) is searchable by the next
# ask on any worker, as with the embedded index.
CONSISTENCY = "Strong"
MAX_TEXT = 65_535  # Milvus's VARCHAR limit; token strings are far shorter than passages


def milvus_uri(settings: IndexSettings, library: Path) -> str:
    """The server URI, or the Milvus Lite file in the library directory."""
    return settings.milvus_uri or str(library / "milvus.db")


@lru_cache(maxsize=8)
def connect(uri: str) -> MilvusClient:
    """A client for the Milvus at uri (a server URL, or a Milvus Lite file path), shared by
    the process's threads."""
    try:
        from pymilvus import MilvusClient
    except ImportError as exc:
        raise BackendUnavailable(INSTALL_HINT) from exc
    try:
        return MilvusClient(uri)
    except Exception as exc:  # pymilvus raises its own and gRPC errors; all mean "no Milvus"
        raise BackendUnavailable(
            f"cannot connect to Milvus at {uri}: {exc}. Check index.milvus_uri and that the "
            "server runs (see docs/deploy.md)"
        ) from exc


def _expression(filters: Filters | None, *, dense: bool) -> str:
    parts = ["has_vector == true"] if dense else []
    if filters is not None and not filters.empty:
        if filters.kinds:
            parts.append(f"kind in {json.dumps([str(k) for k in filters.kinds])}")
        if filters.year_from is not None:
            parts.append(f"year >= {int(filters.year_from)}")
        if filters.year_to is not None:
            parts.append(f"year > 0 and year <= {int(filters.year_to)}")
    return " and ".join(parts)


class MilvusIndex:
    """A PassageIndex in one Milvus collection (see the module docstring)."""

    def __init__(
        self,
        client: MilvusClient,
        collection: str,
        store: SqlStore,
        manifest: IndexManifest,
        settings: IndexSettings,
    ) -> None:
        self.client = client
        self.collection = collection
        self.store = store
        self.manifest = manifest
        self.settings = settings

    # -- the manifest, kept in the library database -----------------------------------------
    @staticmethod
    def manifest_key(collection: str) -> str:
        return f"milvus_manifest:{collection}"

    @classmethod
    def read_manifest(cls, store: SqlStore, collection: str) -> dict[str, Any] | None:
        raw = store.get_meta(cls.manifest_key(collection))
        return None if raw is None else dict(json.loads(raw))

    def reopen_if_committed(self) -> bool:
        """Switch to a manifest another process committed since; True if it switched."""
        raw = self.read_manifest(self.store, self.collection)
        if raw is None or raw == asdict(self.manifest):
            return False
        self.manifest = IndexManifest(**raw)
        return True

    # -- creating ---------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        client: MilvusClient,
        collection: str,
        store: SqlStore,
        manifest: IndexManifest,
        settings: IndexSettings,
    ) -> MilvusIndex:
        """Create the collection afresh (dropping one of the same name); nothing is
        searchable as this index until commit."""
        from pymilvus import DataType, Function, FunctionType

        if client.has_collection(collection):
            client.drop_collection(collection)
        schema = client.create_schema(auto_id=False)
        schema.add_field("chunk_id", DataType.VARCHAR, is_primary=True, max_length=128)
        schema.add_field("document_id", DataType.VARCHAR, max_length=128)
        schema.add_field("kind", DataType.VARCHAR, max_length=32)
        schema.add_field("year", DataType.INT32)
        # The passage's tokens from lexical.tokenize, whitespace-joined: Milvus's standard
        # tokenizer splits them back into exactly those terms.
        schema.add_field(
            "text",
            DataType.VARCHAR,
            max_length=MAX_TEXT,
            enable_analyzer=True,
            analyzer_params={"tokenizer": "standard"},
        )
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_function(
            Function(
                name="bm25",
                function_type=FunctionType.BM25,
                input_field_names=["text"],
                output_field_names=["sparse"],
            )
        )
        index_params = client.prepare_index_params()
        # k1 and b go in the JSON "params" entry, the wire format every Milvus reads:
        # pymilvus 3 would send them as separate entries, which Milvus Lite 3.2.2 ignores
        # (it then scores with k1 1.5 and b 0.75; checked against a hand computation).
        bm25 = {"bm25_k1": settings.bm25_k1, "bm25_b": settings.bm25_b}
        index_params.add_index(
            "sparse",
            index_type="SPARSE_INVERTED_INDEX",
            metric_type="BM25",
            params={"params": bm25},
        )
        if manifest.dim:
            # A passage not embedded yet holds zeros and has_vector false.
            schema.add_field("has_vector", DataType.BOOL)
            schema.add_field("dense", DataType.FLOAT_VECTOR, dim=manifest.dim)
            index_params.add_index(
                "dense", index_type=settings.milvus_index_type, metric_type="COSINE"
            )
        client.create_collection(
            collection,
            schema=schema,
            index_params=index_params,
            num_shards=settings.milvus_shards,
            consistency_level=CONSISTENCY,
        )
        client.load_collection(collection, replica_number=settings.milvus_replicas)
        return cls(client, collection, store, manifest, settings)

    # -- writes ------------------------------------------------------------------------------
    def _row(self, passage: IndexedPassage, tokens: list[str]) -> dict[str, Any]:
        row: dict[str, Any] = {
            "chunk_id": passage.chunk_id,
            "document_id": passage.document_id,
            "kind": str(passage.kind),
            "year": int(passage.year or 0),
            "text": " ".join(tokens)[:MAX_TEXT],
        }
        if self.manifest.dim:
            present = passage.vector is not None
            vector = np.asarray(passage.vector, dtype=np.float32) if present else None
            row["has_vector"] = present
            row["dense"] = vector.tolist() if vector is not None else [0.0] * self.manifest.dim
        return row

    def upsert(self, passages: Sequence[IndexedPassage]) -> None:
        """Add passages, replacing any already held under the same chunk ids."""
        if not passages:
            return
        texts = tokenize([p.text for p in passages])
        rows = [self._row(p, t) for p, t in zip(passages, texts, strict=True)]
        self.client.upsert(self.collection, rows)

    def put_vectors(self, chunk_ids: Sequence[str], vectors: npt.NDArray[np.floating[Any]]) -> None:
        """Set the vectors of passages already in the index."""
        if not chunk_ids or not self.manifest.dim:
            return
        rows = [
            {"chunk_id": c, "has_vector": True, "dense": np.asarray(v, dtype=np.float32).tolist()}
            for c, v in zip(chunk_ids, vectors, strict=True)
        ]
        self.client.upsert(self.collection, rows, partial_update=True)

    def remove(self, chunk_ids: Sequence[str]) -> None:
        """Drop passages (ids it does not hold are ignored)."""
        if chunk_ids:
            self.client.delete(self.collection, ids=list(chunk_ids))

    def commit(self, **changes: Any) -> IndexManifest:
        """Seal the writes into indexed segments and record what the collection now
        reflects (writes are visible before, but searched unindexed until flushed)."""
        self.client.flush(self.collection)
        stats = self.client.query(self.collection, filter="", output_fields=["count(*)"])
        passages = int(stats[0]["count(*)"])
        embedded = 0
        if self.manifest.dim:
            held = self.client.query(
                self.collection, filter="has_vector == true", output_fields=["count(*)"]
            )
            embedded = int(held[0]["count(*)"])
        manifest = replace(self.manifest, passages=passages, embedded=embedded, **changes)
        self.store.set_meta(self.manifest_key(self.collection), json.dumps(asdict(manifest)))
        self.manifest = manifest
        return manifest

    # -- searches ----------------------------------------------------------------------------
    def lexical_search(
        self, query: str, k: int, filters: Filters | None = None
    ) -> list[tuple[str, float]]:
        """Return (chunk_id, BM25 score) for the best k passages with a positive score."""
        tokens = tokenize([query])[0]
        if not tokens or k < 1:
            return []
        found = self.client.search(
            self.collection,
            data=[" ".join(tokens)],
            anns_field="sparse",
            limit=k,
            filter=_expression(filters, dense=False),
            output_fields=["chunk_id"],
            search_params={"metric_type": "BM25"},
        )
        # Milvus servers report the score; Milvus Lite reports it negated (best first either
        # way), so the magnitude is the BM25 score.
        hits = [(str(h["chunk_id"]), abs(float(h["distance"]))) for h in found[0]]
        return [(c, s) for c, s in hits if s > 0]

    def dense_search(
        self, vector: FloatMatrix, k: int, filters: Filters | None = None
    ) -> list[tuple[str, float]]:
        """Return (chunk_id, cosine) for the k passages nearest a unit vector, best first."""
        if not self.manifest.dim or not self.manifest.embedded or k < 1:
            return []
        found = self.client.search(
            self.collection,
            data=[np.asarray(vector, dtype=np.float32).tolist()],
            anns_field="dense",
            limit=k,
            filter=_expression(filters, dense=True),
            output_fields=["chunk_id"],
            search_params={"metric_type": "COSINE"},
        )
        return [(str(h["chunk_id"]), float(h["distance"])) for h in found[0]]

    def vectors(self, chunk_ids: Sequence[str]) -> dict[str, FloatMatrix]:
        """Return the stored unit vector (float32) of each passage that has one."""
        if not chunk_ids or not self.manifest.dim:
            return {}
        rows = self.client.get(
            self.collection,
            ids=list(dict.fromkeys(chunk_ids)),
            output_fields=["has_vector", "dense"],
        )
        return {
            str(r["chunk_id"]): np.asarray(r["dense"], dtype=np.float32)
            for r in rows
            if r["has_vector"]
        }
