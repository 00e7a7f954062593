"""BM25 over passages (bm25s), with English stop words and Snowball stemming."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
import numpy.typing as npt
import Stemmer

# Bumped whenever tokenize() changes, so an index built with other tokens is rebuilt.
TOKENIZER_VERSION = 2

# NLTK's English list without its contraction fragments ("don", "won", "ll"), plus the
# words that frame a question rather than name its subject ("List the main ...",
# "Describe ..."). It holds all of bm25s' 33-word list, with which such words matched
# passages on wording alone.
STOPWORDS = sorted(
    set(
        """a about above after again against all am an and any are as at be because been
        before being below between both but by can could did do does doing down during each
        few for from further had has have having he her here hers herself him himself his how
        i if in into is it its itself just me more most my myself no nor not now of off on
        once only or other our ours ourselves out over own same she should so some such than
        that the their theirs them themselves then there these they this those through to too
        under until up very was we were what when where which while who whom why will with
        would you your yours yourself yourselves""".split()  # noqa: SIM905 (a readable block)
    )
    | {"list", "describe", "explain", "name", "mention", "give", "summarize", "summarise"}
    | {"outline", "discuss", "known", "main"}
)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Lower-case, drop English stop words and stem: the same for passages and queries."""
    out = bm25s.tokenize(
        list(texts), stopwords=STOPWORDS, stemmer=_stemmer(), return_ids=False, show_progress=False
    )
    return [list(t) for t in out]


class Bm25Index:
    """A LexicalIndex: bm25s sparse matrix, saved as plain numpy files."""

    def __init__(self, retriever: bm25s.BM25 | None, size: int) -> None:
        self._retriever = retriever
        self.size = size

    @classmethod
    def build(cls, texts: Sequence[str], k1: float, b: float) -> Bm25Index:
        tokens = tokenize(texts)
        if not any(tokens):  # bm25s cannot index an empty corpus
            return cls(None, len(texts))
        retriever = bm25s.BM25(k1=k1, b=b)
        retriever.index(tokens, show_progress=False)
        return cls(retriever, len(texts))

    def save(self, directory: Path) -> None:
        if self._retriever is not None:
            self._retriever.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path, size: int) -> Bm25Index:
        if not (directory / "params.index.json").exists():
            return cls(None, size)
        return cls(bm25s.BM25.load(str(directory), mmap=False), size)

    def search(
        self, query: str, k: int, mask: npt.NDArray[np.float32] | None = None
    ) -> list[tuple[int, float]]:
        """Return (row, score) for the best k rows with a positive score; mask zeroes rows."""
        if self._retriever is None:
            return []
        tokens = tokenize([query])[0]
        known = [t for t in tokens if t in self._retriever.vocab_dict]
        if not known or self.size == 0:
            return []
        k = min(k, self.size)
        rows, scores = self._retriever.retrieve(
            [known], k=k, show_progress=False, n_threads=1, weight_mask=mask
        )
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if s > 0]
