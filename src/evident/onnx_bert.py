"""The MiniLM encoder as an ONNX graph run by onnxruntime, built from the bundled weights.

Shared by the embedder (index/embed.py) and the cross-encoders (crossencoder.py), beside
the numpy encoder in bert.py. No torch and no exported file: the graph is written with
onnx's helper API straight from the safetensors checkpoint the first time an encoder
loads, then its
matrix products are quantised to int8 (onnxruntime's dynamic quantisation) unless
int8 is False, and kept in the user cache. onnxruntime fuses attention, layer norm and
GELU and runs both cores.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from evident.bert import _HEAD_DIM, _HEADS, HIDDEN, _read_base

OPSET = 17
# Products left in float32 by the int8 model: attention's two activation-by-activation
# products and the feed-forward down-projection, whose GELU inputs span a wide range
# (quantising all products: cosine to the float model min 0.874; these three kept:
# min 0.995, on 128 BioASQ passages).
KEEP_FLOAT: tuple[str, ...] = (".qk", ".ctx", ".out.mm")


def _graph(config: dict[str, Any], w: dict[str, np.ndarray], *, pairs: bool = False) -> Any:
    """Build the encoder: (input_ids, positions, bias) -> last hidden states (B, L, 384).

    pairs: the graph also takes token_type_ids (B, L), the segment of each token of a
    text pair, for the cross-encoders (a single text is all segment 0).
    """
    from onnx import TensorProto, helper, numpy_helper

    nodes: list[Any] = []
    inits: list[Any] = []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(op: str, inputs: list[str], name: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def linear(x: str, prefix: str, out: str, scale: float = 1.0) -> str:
        weight = const(prefix + ".w", (w[prefix + ".weight"].T * scale).astype(np.float32))
        bias = const(prefix + ".b", (w[prefix + ".bias"] * scale).astype(np.float32))
        return node("Add", [node("MatMul", [x, weight], out + ".mm"), bias], out)

    def layer_norm(x: str, prefix: str, out: str) -> str:
        return node(
            "LayerNormalization",
            [
                x,
                const(prefix + ".g", w[prefix + ".weight"]),
                const(prefix + ".beta", w[prefix + ".bias"]),
            ],
            out,
            axis=-1,
            epsilon=float(config["layer_norm_eps"]),
        )

    heads_shape = const("heads_shape", np.array([0, 0, _HEADS, _HEAD_DIM], dtype=np.int64))
    hidden_shape = const("hidden_shape", np.array([0, 0, HIDDEN], dtype=np.int64))
    word = node(
        "Gather", [const("word", w["embeddings.word_embeddings.weight"]), "input_ids"], "emb.word"
    )
    pos = node(
        "Gather", [const("pos", w["embeddings.position_embeddings.weight"]), "positions"], "emb.pos"
    )
    if pairs:
        table = const("types", w["embeddings.token_type_embeddings.weight"])
        typ = node("Gather", [table, "token_type_ids"], "emb.type")
    else:
        typ = const("type0", w["embeddings.token_type_embeddings.weight"][0])
    x = node("Add", [node("Add", [word, pos], "emb.sum"), typ], "emb.all")
    x = layer_norm(x, "embeddings.LayerNorm", "emb.ln")
    scale = 1.0 / math.sqrt(_HEAD_DIM)
    for i in range(int(config["num_hidden_layers"])):
        p = f"encoder.layer.{i}."
        a = p + "attention.self."

        def split(name: str, perm: list[int], x: str = x, a: str = a, i: int = i) -> str:
            projected = linear(x, a + name, f"l{i}.{name}", scale if name == "query" else 1.0)
            shaped = node("Reshape", [projected, heads_shape], f"l{i}.{name}.r")
            return node("Transpose", [shaped], f"l{i}.{name}.t", perm=perm)

        q = split("query", [0, 2, 1, 3])
        k = split("key", [0, 2, 3, 1])
        v = split("value", [0, 2, 1, 3])
        scores = node("Add", [node("MatMul", [q, k], f"l{i}.qk"), "bias"], f"l{i}.scores")
        probs = node("Softmax", [scores], f"l{i}.probs", axis=-1)
        ctx = node(
            "Transpose", [node("MatMul", [probs, v], f"l{i}.ctx")], f"l{i}.ctx.t", perm=[0, 2, 1, 3]
        )
        ctx = node("Reshape", [ctx, hidden_shape], f"l{i}.ctx.r")
        attn = linear(ctx, p + "attention.output.dense", f"l{i}.ao")
        x = layer_norm(
            node("Add", [attn, x], f"l{i}.res1"), p + "attention.output.LayerNorm", f"l{i}.ln1"
        )
        inter = linear(x, p + "intermediate.dense", f"l{i}.inter")
        # The exact (erf) GELU BERT uses: 0.5 * z * (1 + erf(z / sqrt 2)).
        half = const(f"l{i}.half", np.array(0.5, dtype=np.float32))
        one = const(f"l{i}.one", np.array(1.0, dtype=np.float32))
        root = const(f"l{i}.root2", np.array(math.sqrt(2.0), dtype=np.float32))
        erf = node("Erf", [node("Div", [inter, root], f"l{i}.div")], f"l{i}.erf")
        gelu = node(
            "Mul",
            [node("Mul", [inter, half], f"l{i}.halfz"), node("Add", [erf, one], f"l{i}.erf1")],
            f"l{i}.gelu",
        )
        out = linear(gelu, p + "output.dense", f"l{i}.out")
        x = layer_norm(node("Add", [out, x], f"l{i}.res2"), p + "output.LayerNorm", f"l{i}.ln2")
    nodes.append(helper.make_node("Identity", [x], ["hidden"], name="hidden"))
    inputs = [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "length"]),
        helper.make_tensor_value_info("positions", TensorProto.INT64, [1, "length"]),
        helper.make_tensor_value_info("bias", TensorProto.FLOAT, ["batch", 1, 1, "length"]),
    ]
    if pairs:
        inputs.append(
            helper.make_tensor_value_info("token_type_ids", TensorProto.INT64, ["batch", "length"])
        )
    graph = helper.make_graph(
        nodes,
        "minilm",
        inputs,
        [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["batch", "length", HIDDEN])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    return model


class OnnxEncoder:
    """Runs the encoder on padded batches; `hidden` returns (B, L, 384) float32."""

    def __init__(self, directory: Path, *, int8: bool = True, threads: int = 0) -> None:
        self._session = session(_model_bytes(directory, int8), threads)

    def hidden(
        self, ids: npt.NDArray[np.int64], mask: npt.NDArray[np.bool_]
    ) -> npt.NDArray[np.float32]:
        return hidden_states(self._session, ids, mask)


def session(data: bytes, threads: int = 0) -> Any:
    """An onnxruntime session over a serialised graph, every graph optimisation on."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    return ort.InferenceSession(data, options, providers=_providers(ort))


def hidden_states(
    run: Any,
    ids: npt.NDArray[np.int64],
    mask: npt.NDArray[np.bool_],
    types: npt.NDArray[np.int64] | None = None,
) -> npt.NDArray[np.float32]:
    """Last hidden states (B, L, 384) of a padded batch; types for a pairs graph."""
    feeds = {
        "input_ids": ids,
        "positions": np.arange(ids.shape[1], dtype=np.int64)[None, :],
        "bias": np.where(mask, 0.0, -1e4).astype(np.float32)[:, None, None, :],
    }
    if types is not None:
        feeds["token_type_ids"] = types
    result: npt.NDArray[np.float32] = run.run(["hidden"], feeds)[0]
    return result


def cached(name: str, key: str, build: Callable[[], bytes]) -> bytes:
    """A serialised graph kept in the user cache: quantising takes seconds, reading it back
    a fraction of one. key must cover the weights, this code and onnxruntime's version."""
    import platformdirs

    cache = Path(platformdirs.user_cache_dir("evident")) / f"{name}-{key}.onnx"
    if cache.is_file():
        return cache.read_bytes()
    data = build()
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(f".{os.getpid()}.partial")
        partial.write_bytes(data)
        partial.rename(cache)
    except OSError:  # a read-only home: build it each time instead
        pass
    return data


def _model_bytes(directory: Path, int8: bool) -> bytes:
    """The embedder's graph, from the cache when its weights, this code and onnxruntime
    are unchanged."""
    import onnxruntime as ort

    weights = directory / "model.safetensors"
    if not weights.is_file():
        _read_base(directory)  # raises BackendUnavailable saying what is missing
    stat = weights.stat()
    key = hashlib.sha256(
        f"{weights.resolve()}:{stat.st_size}:{stat.st_mtime_ns}:{int8}:{ort.__version__}:"
        f"{Path(__file__).read_bytes().hex()}".encode()
    ).hexdigest()[:16]
    return cached("minilm", key, lambda: _build(directory, int8))


def _build(directory: Path, int8: bool) -> bytes:
    config, weights = _read_base(directory)
    return serialise(_graph(config, weights), int8)


def serialise(model: Any, int8: bool) -> bytes:
    """The graph as bytes, its matrix products quantised to int8 unless int8 is False."""
    if not int8:
        data: bytes = model.SerializeToString()
        return data
    from onnxruntime.quantization import QuantType, quantize_dynamic

    keep = [n.name for n in model.graph.node if n.name.endswith(KEEP_FLOAT)]
    # quantize_dynamic logs advice about pre-processing to the root logger; not for users.
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            source, target = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
            source.write_bytes(model.SerializeToString())
            quantize_dynamic(
                str(source),
                str(target),
                weight_type=QuantType.QInt8,
                op_types_to_quantize=["MatMul"],
                nodes_to_exclude=keep,
                per_channel=True,
            )
            return target.read_bytes()
    finally:
        root.setLevel(level)


def _providers(ort: Any) -> list[str]:
    """An accelerator when onnxruntime was built with one (onnxruntime-gpu), else the CPU."""
    available = ort.get_available_providers()
    return [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
