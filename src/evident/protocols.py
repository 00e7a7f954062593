"""Backend interfaces. Built-in backends implement these like third-party ones do."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from evident.models import Chunk, Document, DocumentMeta, ParsedDocument

FloatMatrix = npt.NDArray[np.float32]


@runtime_checkable
class Reader(Protocol):
    """Turns one input file into one or more parsed documents."""

    name: str

    def accepts(self, path: Path, head: bytes) -> bool:
        """Return True if this reader handles the file (by suffix and its first bytes)."""
        ...

    def read(self, path: Path) -> Iterator[ParsedDocument]:
        """Yield the documents in the file; raise ParseFailure if it cannot be read."""
        ...


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to L2-normalised vectors."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> FloatMatrix:
        """Return an (n, dim) float32 array of unit vectors."""
        ...


@runtime_checkable
class LexicalIndex(Protocol):
    """A keyword index over passages."""

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """Return (row, score) pairs for the best k rows, best first."""
        ...


@runtime_checkable
class VectorIndex(Protocol):
    """A nearest-neighbour index over passage vectors."""

    def search(self, vector: FloatMatrix, k: int) -> list[tuple[int, float]]:
        """Return (row, cosine) pairs for the best k rows, best first."""
        ...


@runtime_checkable
class Generator(Protocol):
    """A chat model that writes a JSON reply to messages, streamed as it is written."""

    name: str

    def stream(self, messages: Sequence[dict[str, str]], schema: dict[str, Any]) -> Iterator[str]:
        """Yield the reply in pieces. schema is the JSON Schema the reply must follow
        (backends that can constrain decoding pass it on); raise GeneratorFailed when the
        model cannot be reached or refuses within the configured budget."""
        ...


@runtime_checkable
class SupportModel(Protocol):
    """Judges whether evidence text supports a statement (an entailment cross-encoder)."""

    name: str
    labels: tuple[str, ...]

    def probabilities(self, pairs: Sequence[tuple[str, str]]) -> FloatMatrix:
        """Return an (n, len(labels)) array: calibrated label probabilities per
        (statement, evidence) pair."""
        ...


# The library store, by role. SqliteStore and PostgresStore (evident.store) implement all
# of them; each stage asks only for the role it uses.


@runtime_checkable
class PassageStore(Protocol):
    """Passages and their documents' metadata, as retrieval and review read them."""

    def get_chunks(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        """Return the passages with these ids (unknown ids are left out)."""
        ...

    def document_metas(self, document_ids: Iterable[str] | None = None) -> dict[str, DocumentMeta]:
        """Return metadata by document id (all documents when ids is None)."""
        ...

    def iter_passages(self) -> Iterator[Any]:
        """Yield every passage row (chunk_id, document_id, section, text, title, kind,
        year) in insertion order."""
        ...

    def library_version(self) -> str:
        """A version that changes whenever the set of documents changes."""
        ...


@runtime_checkable
class EmbeddingStore(Protocol):
    """Passage vectors kept beside the passages, per embedding model."""

    def missing_embeddings(self, model: str) -> list[Any]:
        """Passage rows (as iter_passages yields) not yet embedded with this model."""
        ...

    def put_embeddings(self, model: str, ids: Sequence[str], vectors: FloatMatrix) -> None:
        """Store vectors for these passage ids."""
        ...

    def load_embeddings(self, model: str, ids: Sequence[str], dim: int) -> tuple[FloatMatrix, int]:
        """Return vectors aligned with ids (zeros where missing) and how many were missing."""
        ...

    def count_embeddings(self, model: str) -> int:
        """How many passages have a vector from this model."""
        ...


@runtime_checkable
class IndexSource(PassageStore, EmbeddingStore, Protocol):
    """What building a search index reads: passages and their vectors."""


@runtime_checkable
class DocumentStore(Protocol):
    """Documents with their passages, and the ledger of ingested files."""

    def has_document(self, document_id: str) -> bool: ...

    def add_document(self, doc: Document, chunks: Sequence[Chunk]) -> None:
        """Insert a document with its passages in one transaction."""
        ...

    def get_document(self, document_id: str) -> Document:
        """Return a document by id or unique id prefix; raise NotFound otherwise."""
        ...

    def remove_document(self, document_id: str) -> None: ...

    def source_record(self, origin: str) -> Any:
        """The ledger row of an ingested file (content_hash, status, document_ids), or None."""
        ...

    def record_source(
        self,
        origin: str,
        content_hash: str,
        status: str,
        document_ids: Sequence[str] = (),
        reason: str = "",
    ) -> None:
        """Record what became of an ingested file."""
        ...
