"""all-MiniLM-L6-v2 sentence embeddings: the numpy BERT of evident.bert, mean-pooled."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from evident.bert import (
    HIDDEN,
    INSTALL_HINT,
    BertModel,
    encode,
    load_base_model,
    mean_pool,
    model_dir,
)
from evident.errors import InvalidInput
from evident.protocols import FloatMatrix

__all__ = ["INSTALL_HINT", "MiniLmEmbedder", "model_dir"]


class MiniLmEmbedder:
    """An Embedder for sentence-transformers/all-MiniLM-L6-v2, run in numpy.

    Matches sentence-transformers' output (mean pooling over real tokens, then L2
    normalisation) to within float32 rounding. Weights load on the first call.
    """

    name = "all-MiniLM-L6-v2"
    dim = HIDDEN

    def __init__(self, batch_size: int = 64, model_path: Path | None = None) -> None:
        """Configure the embedder; nothing is read from disk until the first embed.

        Args:
            batch_size: Texts per forward pass; larger batches use more memory.
            model_path: A directory with the model files; default is the bundled one.
        """
        if batch_size < 1:
            raise InvalidInput(f"embedder batch_size must be at least 1, got {batch_size!r}")
        self.batch_size = batch_size
        self._model_path = model_path
        self._model: BertModel | None = None
        self._lock = threading.Lock()

    def _loaded(self) -> BertModel:
        if self._model is None:
            # Lock so concurrent API requests don't each load 90 MB of weights.
            with self._lock:
                if self._model is None:
                    self._model = load_base_model(self._model_path or model_dir())
        return self._model

    def embed(self, texts: Sequence[str]) -> FloatMatrix:
        """Return an (n, 384) float32 array of unit vectors, one row per text."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._loaded()
        # encode() one by one rather than encode_batch(): as fast here, and it keeps the
        # tokenizers thread pool out of the process (it warns and stalls after a fork).
        token_ids = [model.tokenizer.encode(text).ids for text in texts]
        # No sorting by length: encode packs tokens, so there is no padding to save.
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            x, starts = encode(model, token_ids[start : start + self.batch_size])
            pooled = mean_pool(x, starts)
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), np.float32(1e-12))
            out[start : start + self.batch_size] = pooled
        return out

    def embed_query(self, text: str) -> npt.NDArray[np.float32]:
        """Return the 1-D unit vector for one text."""
        vector: npt.NDArray[np.float32] = self.embed([text])[0]
        return vector
