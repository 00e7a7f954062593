"""Backend interfaces. Built-in backends implement these like third-party ones do."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from evident.models import Chunk, Document, DocumentMeta, Filters, IndexedPassage, ParsedDocument

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
class PassageIndex(Protocol):
    """A search index over passages, keyed by chunk id: BM25 and nearest-neighbour search.

    Writes (upsert, remove) are visible to searches once the backend commits them;
    searches never wait for writes.
    """

    def upsert(self, passages: Sequence[IndexedPassage]) -> None:
        """Add passages, replacing any already held under the same chunk ids."""
        ...

    def remove(self, chunk_ids: Sequence[str]) -> None:
        """Drop passages (ids it does not hold are ignored)."""
        ...

    def lexical_search(
        self, query: str, k: int, filters: Filters | None = None
    ) -> list[tuple[str, float]]:
        """Return (chunk_id, BM25 score) for the best k passages with a positive score."""
        ...

    def dense_search(
        self, vector: FloatMatrix, k: int, filters: Filters | None = None
    ) -> list[tuple[str, float]]:
        """Return (chunk_id, cosine) for the k passages nearest a unit vector, best first;
        empty when no passage has a vector."""
        ...

    def vectors(self, chunk_ids: Sequence[str]) -> dict[str, FloatMatrix]:
        """Return the stored unit vector (float32) of each passage that has one."""
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


@runtime_checkable
class RelevanceModel(Protocol):
    """Judges how well texts answer a question (a question-passage cross-encoder)."""

    name: str

    def scores(self, question: str, texts: Sequence[str]) -> FloatMatrix:
        """Return a calibrated probability, per text, that it answers the question."""
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

    def chunk_documents(self, chunk_ids: Sequence[str]) -> dict[str, str]:
        """Return the document id of each passage still in the library."""
        ...


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
