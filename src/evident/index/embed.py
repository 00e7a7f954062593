"""all-MiniLM-L6-v2 sentence embeddings, mean-pooled: onnxruntime (int8 by default) or
the numpy BERT of evident.bert."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from evident.bert import (
    HIDDEN,
    INSTALL_HINT,
    BertModel,
    embedding_tokenizer,
    encode,
    load_base_model,
    mean_pool,
    model_dir,
)
from evident.errors import InvalidInput
from evident.protocols import FloatMatrix

if TYPE_CHECKING:
    from tokenizers import Tokenizer

    from evident.onnx_bert import OnnxEncoder

__all__ = ["INSTALL_HINT", "MiniLmEmbedder", "model_dir"]

Runtime = Literal["onnx-int8", "onnx", "numpy"]
RUNTIMES: tuple[Runtime, ...] = ("onnx-int8", "onnx", "numpy")


class MiniLmEmbedder:
    """An Embedder for sentence-transformers/all-MiniLM-L6-v2, without torch.

    runtime "numpy" matches sentence-transformers' output (mean pooling over real
    tokens, then L2 normalisation) to within float32 rounding; "onnx" runs the same
    float graph in onnxruntime; "onnx-int8" (the default) quantises its weight products
    to int8, about twice as fast on two cores, within cosine 0.99 of numpy (see
    docs/benchmarks.md#scale). Weights load on the first call.
    """

    name = "all-MiniLM-L6-v2"
    dim = HIDDEN

    def __init__(
        self, batch_size: int = 64, model_path: Path | None = None, runtime: Runtime = "onnx-int8"
    ) -> None:
        """Configure the embedder; nothing is read from disk until the first embed.

        Args:
            batch_size: Texts per forward pass; larger batches use more memory.
            model_path: A directory with the model files; default is the bundled one.
            runtime: "onnx-int8", "onnx" or "numpy" (see the class docstring).
        """
        if batch_size < 1:
            raise InvalidInput(f"embedder batch_size must be at least 1, got {batch_size!r}")
        if runtime not in RUNTIMES:
            raise InvalidInput(
                f"embedder runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}"
            )
        self.batch_size = batch_size
        self.runtime = runtime
        self._model_path = model_path
        self._model: BertModel | None = None
        self._onnx: tuple[Tokenizer, OnnxEncoder] | None = None
        self._lock = threading.Lock()

    def _loaded(self) -> BertModel:
        if self._model is None:
            # Lock so concurrent API requests don't each load 90 MB of weights.
            with self._lock:
                if self._model is None:
                    self._model = load_base_model(self._model_path or model_dir())
        return self._model

    def _loaded_onnx(self) -> tuple[Tokenizer, OnnxEncoder]:
        if self._onnx is None:
            with self._lock:
                if self._onnx is None:
                    from evident.onnx_bert import OnnxEncoder

                    directory = self._model_path or model_dir()
                    encoder = OnnxEncoder(directory, int8=self.runtime == "onnx-int8")
                    self._onnx = (embedding_tokenizer(directory), encoder)
        return self._onnx

    def embed(self, texts: Sequence[str]) -> FloatMatrix:
        """Return an (n, 384) float32 array of unit vectors, one row per text."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.runtime != "numpy":
            return self._embed_onnx(texts)
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

    def _embed_onnx(self, texts: Sequence[str]) -> FloatMatrix:
        tokenizer, encoder = self._loaded_onnx()
        token_ids = [tokenizer.encode(text).ids for text in texts]
        # Batches of similar lengths, so padding costs little.
        order = np.argsort([len(t) for t in token_ids], kind="stable")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            rows = order[start : start + self.batch_size]
            width = max(len(token_ids[r]) for r in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=bool)
            for i, r in enumerate(rows):
                ids[i, : len(token_ids[r])] = token_ids[r]
                mask[i, : len(token_ids[r])] = True
            hidden = encoder.hidden(ids, mask)
            pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), np.float32(1e-12))
            out[rows] = pooled
        return out

    def embed_query(self, text: str) -> npt.NDArray[np.float32]:
        """Return the 1-D unit vector for one text."""
        vector: npt.NDArray[np.float32] = self.embed([text])[0]
        return vector
