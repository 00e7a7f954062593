"""The App container: backends built from settings, and the service functions front ends call."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from evident.compose.article import compose_article
from evident.compose.question import analyse
from evident.config import Settings
from evident.index.build import SearchIndex, build_index, embed_missing, load_index
from evident.index.retrieve import Filters, retrieve
from evident.index.vocab import Vocabulary, load_vocabulary
from evident.ingest.pipeline import ingest_path
from evident.models import Article, Audience, Hit, IngestReport
from evident.protocols import Embedder
from evident.registry import EMBEDDERS, backend
from evident.store.sqlite import SqliteStore
from evident.verify.support import verify_article


@dataclass
class App:
    """Long-lived backends for one library. Build it with build_app(settings)."""

    settings: Settings
    store: SqliteStore
    embedder: Embedder | None
    _index: SearchIndex | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def index_dir(self) -> Path:
        return self.settings.library / "index"

    @property
    def vocabulary(self) -> Vocabulary:
        return load_vocabulary(tuple(self.settings.index.vocab_paths))

    # -- index ---------------------------------------------------------------
    def index(self) -> SearchIndex:
        """Return the loaded index, loading or refreshing it if the library changed."""
        with self._lock:
            current = self._index
            if current is None or current.manifest.library_version != self.store.library_version():
                current = load_index(self.store, self.index_dir, self.settings.index, self.embedder)
                self._index = current
            return current

    def refresh_index(
        self, embed: bool = True, on_progress: Callable[[int, int], None] | None = None
    ) -> SearchIndex:
        """Embed passages that lack vectors (unless embed is False) and rebuild the index."""
        if embed and self.embedder is not None:
            embed_missing(self.store, self.embedder, self.settings.index.embed_batch, on_progress)
        with self._lock:
            self._index = build_index(
                self.store, self.index_dir, self.settings.index, self.embedder
            )
            return self._index

    # -- service functions -----------------------------------------------------
    def ingest(
        self, paths: Iterable[Path], on_file: Callable[[str], None] | None = None
    ) -> IngestReport:
        """Add files and folders to the library (the index is refreshed separately)."""
        s = self.settings.ingest
        return ingest_path(
            self.store,
            paths,
            max_file_mb=s.max_file_mb,
            passage_chars=s.passage_chars,
            passage_max_chars=s.passage_max_chars,
            on_file=on_file,
        )

    def search(
        self,
        query: str,
        k: int = 10,
        filters: Filters | None = None,
        methods: tuple[str, ...] = ("bm25", "dense"),
    ) -> list[Hit]:
        """Return the k best passages for a question."""
        return retrieve(
            self.store,
            self.index(),
            self.embedder,
            query,
            self.settings.index,
            k=k,
            filters=filters,
            vocabulary=self.vocabulary,
            methods=methods,
        )

    def ask(self, question: str, audience: Audience = Audience.PHYSICIAN) -> Article:
        """Answer a question with a cited, verified article (or an abstention)."""
        frame = analyse(question, self.vocabulary)
        index = self.index()
        query_vector = None
        if self.embedder is not None and index.dense is not None:
            query_vector = self.embedder.embed([frame.question])[0]
        hits = retrieve(
            self.store,
            index,
            self.embedder,
            frame.question,
            self.settings.index,
            k=self.settings.compose.passages,
            vocabulary=self.vocabulary,
            query_vector=query_vector,
        )
        relevance = None
        if query_vector is not None and index.dense is not None:
            rows = {cid: i for i, cid in enumerate(index.chunk_ids)}
            relevance = {
                h.chunk.chunk_id: float(index.dense.vectors[rows[h.chunk.chunk_id]] @ query_vector)
                for h in hits
                if h.chunk.chunk_id in rows
            }
        article = compose_article(
            frame,
            hits,
            self.settings.compose,
            self.store.library_version(),
            embedder=self.embedder,
            question_vector=query_vector,
            relevance=relevance,
            searched=(frame.question, *frame.condition_terms()[:6]),
        )
        chunks = {h.chunk.chunk_id: h.chunk for h in hits}
        verified = verify_article(
            article, chunks, self.settings.verify.support_threshold, self.embedder
        )
        return replace(verified, audience=audience)


def make_embedder(name: str) -> Embedder | None:
    """Return the embedder registered under name, or None for 'none' (BM25 only)."""
    if name == "none":
        return None
    embedder: Embedder = backend(EMBEDDERS, name)()
    return embedder


def build_app(settings: Settings) -> App:
    """Create the backends the settings name; nothing is opened before this is called."""
    settings.library.mkdir(parents=True, exist_ok=True)
    store = SqliteStore(settings.library / "library.sqlite")
    return App(settings=settings, store=store, embedder=make_embedder(settings.index.embedder))
