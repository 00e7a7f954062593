"""The claim-support model at run time: a trained MiniLM cross-encoder, run in numpy.

The weights are trained by `evident models train` (evident.train, needs torch) and ship
in evident/data/models/claim-support/ with a stamp of what made them. Loading checks the
stamp, as loading an index does: a stamp this code cannot read, other labels, or weights
that are not the ones stamped, fail with the rebuild command.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evident.errors import BackendUnavailable
from evident.protocols import FloatMatrix

# The stamp format this runtime reads, and the labels it expects in this order.
MODEL_FORMAT = 1
LABELS: tuple[str, ...] = ("supports", "contradicts", "does_not_address")
REBUILD = "make models"
BUNDLED = Path(__file__).resolve().parent.parent / "data" / "models" / "claim-support"


class ModelMismatch(BackendUnavailable):
    """A model's files do not match its stamp, or the stamp is not one this code reads."""


@dataclass(frozen=True, slots=True)
class _Loaded:
    model: Any  # evident.bert.BertModel; imported lazily to keep start-up light
    head_w: FloatMatrix
    head_b: FloatMatrix
    temperature: float


def read_stamp(directory: Path) -> dict[str, Any]:
    """The model's stamp, checked against its weights and against this runtime.

    Raises:
        ModelMismatch: missing files, another format or labels, or weights not the stamped ones.
    """
    stamp_path, weights_path = directory / "stamp.json", directory / "weights.safetensors"
    if not stamp_path.is_file() or not weights_path.is_file():
        raise ModelMismatch(
            f"the claim-support model in {str(directory)!r} lacks stamp.json or "
            f"weights.safetensors; rebuild it with `{REBUILD}`"
        )
    stamp: dict[str, Any] = json.loads(stamp_path.read_text())
    problems = []
    if stamp.get("format") != MODEL_FORMAT:
        problems.append(f"format {stamp.get('format')!r}, this evident reads {MODEL_FORMAT}")
    if tuple(stamp.get("labels", ())) != LABELS:
        problems.append(f"labels {stamp.get('labels')!r}, expected {list(LABELS)!r}")
    digest = hashlib.sha256(weights_path.read_bytes()).hexdigest()
    if stamp.get("weights_sha256") != digest:
        problems.append("weights.safetensors is not the file its stamp names (sha256 differs)")
    if problems:
        raise ModelMismatch(
            f"the claim-support model in {str(directory)!r} does not match its stamp: "
            f"{'; '.join(problems)}; rebuild it with `{REBUILD}`"
        )
    return stamp


# Loaded weights by folder and weights hash, shared by every App in the process.
_CACHE: dict[tuple[Path, str], _Loaded] = {}
_CACHE_LOCK = threading.Lock()


class ClaimSupportModel:
    """A SupportModel: P(supports), P(contradicts), P(does not address) per pair.

    Weights load on the first call. Probabilities are temperature-scaled with the
    temperature fitted on held-out development pairs when the model was trained.
    """

    name = "claim-support"
    labels = LABELS

    def __init__(self, directory: Path | None = None, batch_size: int = 32) -> None:
        self.directory = directory or BUNDLED
        self.batch_size = batch_size
        self._loaded: _Loaded | None = None

    @property
    def stamp(self) -> dict[str, Any]:
        """The checked stamp (reads the files)."""
        return read_stamp(self.directory)

    def _load(self) -> _Loaded:
        if self._loaded is None:
            stamp = read_stamp(self.directory)
            key = (self.directory, str(stamp["weights_sha256"]))
            # Locked so concurrent requests don't each load the weights.
            with _CACHE_LOCK:
                if key not in _CACHE:
                    from safetensors.numpy import load_file

                    from evident.bert import load_cross_encoder

                    weights = load_file(str(self.directory / "weights.safetensors"))
                    model, head_w, head_b = load_cross_encoder(weights, int(stamp["max_length"]))
                    _CACHE[key] = _Loaded(model, head_w, head_b, float(stamp["temperature"]))
                self._loaded = _CACHE[key]
        return self._loaded

    def probabilities(self, pairs: Sequence[tuple[str, str]]) -> FloatMatrix:
        """Return (n, 3) calibrated probabilities for (statement, evidence) pairs."""
        from evident.bert import encode, mean_pool

        out = np.zeros((len(pairs), len(LABELS)), dtype=np.float32)
        if not pairs:
            return out
        loaded = self._load()
        tokenizer = loaded.model.tokenizer
        encoded = [tokenizer.encode(statement, evidence) for statement, evidence in pairs]
        for start in range(0, len(pairs), self.batch_size):
            batch = encoded[start : start + self.batch_size]
            x, starts = encode(loaded.model, [e.ids for e in batch], [e.type_ids for e in batch])
            logits = mean_pool(x, starts) @ loaded.head_w + loaded.head_b
            logits /= np.float32(loaded.temperature)
            logits -= logits.max(axis=1, keepdims=True)
            np.exp(logits, out=logits)
            out[start : start + len(batch)] = logits / logits.sum(axis=1, keepdims=True)
        return out
