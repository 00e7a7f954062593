"""evident's own cross-encoders at run time: a trained MiniLM, run in numpy.

Two models share this runtime: claim support (verify/) and relevance (index/ and
compose/). Their weights are trained by `evident models train` (evident.train, needs
torch) and ship in evident/data/models/<name>/ with a stamp of what made them. Loading
checks the stamp, as loading an index does: a stamp this code cannot read, other labels,
or weights that are not the ones stamped, fail with the rebuild command.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from evident.errors import BackendUnavailable
from evident.protocols import FloatMatrix

# The stamp format this runtime reads.
MODEL_FORMAT = 1
REBUILD = "make models"
MODELS = Path(__file__).resolve().parent / "data" / "models"


class ModelMismatch(BackendUnavailable):
    """A model's files do not match its stamp, or the stamp is not one this code reads."""


Runtime = Literal["onnx-int8", "numpy"]


@dataclass(frozen=True, slots=True)
class _Loaded:
    model: Any  # evident.bert.BertModel; imported lazily to keep start-up light
    head_w: FloatMatrix
    head_b: FloatMatrix
    temperature: float
    session: Any = None  # an onnxruntime session over the same weights, or None


def read_stamp(directory: Path, name: str, labels: tuple[str, ...]) -> dict[str, Any]:
    """A model's stamp, checked against its weights and against this runtime.

    Raises:
        ModelMismatch: missing files, another format or labels, or weights not the stamped ones.
    """
    stamp_path, weights_path = directory / "stamp.json", directory / "weights.safetensors"
    if not stamp_path.is_file() or not weights_path.is_file():
        raise ModelMismatch(
            f"the {name} model in {str(directory)!r} lacks stamp.json or "
            f"weights.safetensors; rebuild it with `{REBUILD}`"
        )
    stamp: dict[str, Any] = json.loads(stamp_path.read_text())
    problems = []
    if stamp.get("format") != MODEL_FORMAT:
        problems.append(f"format {stamp.get('format')!r}, this evident reads {MODEL_FORMAT}")
    if tuple(stamp.get("labels", ())) != labels:
        problems.append(f"labels {stamp.get('labels')!r}, expected {list(labels)!r}")
    digest = hashlib.sha256(weights_path.read_bytes()).hexdigest()
    if stamp.get("weights_sha256") != digest:
        problems.append("weights.safetensors is not the file its stamp names (sha256 differs)")
    if problems:
        raise ModelMismatch(
            f"the {name} model in {str(directory)!r} does not match its stamp: "
            f"{'; '.join(problems)}; rebuild it with `{REBUILD}`"
        )
    return stamp


# Loaded weights by folder and weights hash, shared by every App in the process.
_CACHE: dict[tuple[Path, str], _Loaded] = {}
_CACHE_LOCK = threading.Lock()


class CrossEncoderModel:
    """Calibrated label probabilities for text pairs from one stamped model folder.

    Weights load on the first call. Probabilities are temperature-scaled with the
    temperature fitted on held-out development pairs when the model was trained.
    """

    name: str
    labels: tuple[str, ...]
    default_runtime: Runtime = "onnx-int8"

    def __init__(
        self, directory: Path | None = None, batch_size: int = 32, runtime: Runtime | None = None
    ) -> None:
        """Args:
        runtime: "onnx-int8" runs the encoder in onnxruntime with its weight products
            quantised to int8 (about twice as fast on two cores; probabilities within about
            0.05 of numpy's, a test checks); "numpy" is the exact reference. Default: the
            model's default_runtime.
        """
        self.directory = directory or MODELS / self.name
        self.batch_size = batch_size
        self.runtime: Runtime = runtime or self.default_runtime
        self._loaded: _Loaded | None = None

    @property
    def stamp(self) -> dict[str, Any]:
        """The checked stamp (reads the files)."""
        return read_stamp(self.directory, self.name, self.labels)

    def _load(self) -> _Loaded:
        if self._loaded is None:
            stamp = self.stamp
            key = (self.directory, f"{stamp['weights_sha256']}:{self.runtime}")
            # Locked so concurrent requests don't each load the weights.
            with _CACHE_LOCK:
                if key not in _CACHE:
                    from safetensors.numpy import load_file

                    from evident.bert import load_cross_encoder

                    weights = load_file(str(self.directory / "weights.safetensors"))
                    model, head_w, head_b = load_cross_encoder(weights, int(stamp["max_length"]))
                    session = None
                    if self.runtime == "onnx-int8":
                        session = _onnx_session(weights, str(stamp["weights_sha256"]))
                    _CACHE[key] = _Loaded(
                        model, head_w, head_b, float(stamp["temperature"]), session
                    )
                self._loaded = _CACHE[key]
        return self._loaded

    def probabilities(self, pairs: Sequence[tuple[str, str]]) -> FloatMatrix:
        """Return (n, len(labels)) calibrated probabilities for (first, second) text pairs."""
        from evident.bert import encode, mean_pool

        out = np.zeros((len(pairs), len(self.labels)), dtype=np.float32)
        if not pairs:
            return out
        loaded = self._load()
        tokenizer = loaded.model.tokenizer
        encoded = [tokenizer.encode(first, second) for first, second in pairs]
        # Batches of similar length waste less work on padding.
        order = sorted(range(len(pairs)), key=lambda i: len(encoded[i].ids))
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            batch = [encoded[i] for i in rows]
            if loaded.session is not None:
                pooled = _onnx_pooled(
                    loaded.session, [e.ids for e in batch], [e.type_ids for e in batch]
                )
            else:
                x, starts = encode(
                    loaded.model, [e.ids for e in batch], [e.type_ids for e in batch]
                )
                pooled = mean_pool(x, starts)
            logits = pooled @ loaded.head_w + loaded.head_b
            logits /= np.float32(loaded.temperature)
            logits -= logits.max(axis=1, keepdims=True)
            np.exp(logits, out=logits)
            out[rows] = logits / logits.sum(axis=1, keepdims=True)
        return out


def _onnx_session(weights: dict[str, Any], digest: str) -> Any:
    """An onnxruntime session over the base MiniLM merged with a model's weights, its
    matrix products quantised to int8 (the graph is kept in the user cache)."""
    import onnxruntime as ort

    from evident import onnx_bert
    from evident.bert import _read_base, model_dir

    def build() -> bytes:
        config, base = _read_base(model_dir())
        merged = {k: np.asarray(v, dtype=np.float32) for k, v in {**base, **weights}.items()}
        return onnx_bert.serialise(onnx_bert._graph(config, merged, pairs=True), int8=True)

    code = hashlib.sha256(Path(onnx_bert.__file__).read_bytes()).hexdigest()[:12]
    key = hashlib.sha256(f"{digest}:{code}:{ort.__version__}".encode()).hexdigest()[:16]
    return onnx_bert.session(onnx_bert.cached("cross-encoder", key, build))


def _onnx_pooled(
    session: Any, ids: Sequence[Sequence[int]], types: Sequence[Sequence[int]]
) -> FloatMatrix:
    """Mean-pooled last hidden states of a padded batch (padding masked out)."""
    from evident.onnx_bert import hidden_states

    length = max(len(t) for t in ids)
    batch = np.zeros((len(ids), length), dtype=np.int64)
    segments = np.zeros_like(batch)
    mask = np.zeros((len(ids), length), dtype=bool)
    for row, (t, s) in enumerate(zip(ids, types, strict=True)):
        batch[row, : len(t)] = t
        segments[row, : len(s)] = s
        mask[row, : len(t)] = True
    hidden = hidden_states(session, batch, mask, segments)
    summed = (hidden * mask[:, :, None]).sum(axis=1)
    pooled: FloatMatrix = (summed / mask.sum(axis=1, keepdims=True)).astype(np.float32)
    return pooled
