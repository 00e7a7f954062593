"""The bundled MiniLM (BERT, 6 layers, 384 wide) in torch, as a cross-encoder.

Parameter names follow the checkpoint's, so the exported weights load into the numpy
runtime (evident.bert) with the same code that reads the bundled model.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


class _Layer(nn.Module):
    def __init__(self, hidden: int, heads: int, inter: int, eps: float) -> None:
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.attn_out = nn.Linear(hidden, hidden)
        self.attn_ln = nn.LayerNorm(hidden, eps=eps)
        self.inter = nn.Linear(hidden, inter)
        self.out = nn.Linear(inter, hidden)
        self.out_ln = nn.LayerNorm(hidden, eps=eps)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, n, h = x.shape
        d = h // self.heads

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(b, n, self.heads, d).transpose(1, 2)

        ctx = F.scaled_dot_product_attention(
            split(self.query(x)), split(self.key(x)), split(self.value(x)), attn_mask=mask
        )
        ctx = ctx.transpose(1, 2).reshape(b, n, h)
        x = self.attn_ln(x + self.attn_out(ctx))
        out: torch.Tensor = self.out_ln(x + self.out(F.gelu(self.inter(x))))
        return out


class CrossEncoder(nn.Module):
    """BERT over "[CLS] a [SEP] b [SEP]", mean-pooled over real tokens, then a linear head."""

    def __init__(self, config: dict[str, int | float], labels: int) -> None:
        super().__init__()
        hidden = int(config["hidden_size"])
        eps = float(config["layer_norm_eps"])
        self.word = nn.Embedding(int(config["vocab_size"]), hidden)
        self.position = nn.Embedding(int(config["max_position_embeddings"]), hidden)
        self.token_type = nn.Embedding(int(config["type_vocab_size"]), hidden)
        self.emb_ln = nn.LayerNorm(hidden, eps=eps)
        self.layers = nn.ModuleList(
            _Layer(
                hidden, int(config["num_attention_heads"]), int(config["intermediate_size"]), eps
            )
            for _ in range(int(config["num_hidden_layers"]))
        )
        self.dropout = nn.Dropout(0.1)
        self.head = nn.Linear(hidden, labels)

    def forward(
        self, ids: torch.Tensor, types: torch.Tensor, attention: torch.Tensor
    ) -> torch.Tensor:
        positions = torch.arange(ids.shape[1], device=ids.device)[None, :]
        x = self.emb_ln(self.word(ids) + self.position(positions) + self.token_type(types))
        mask = torch.zeros(attention.shape, dtype=x.dtype, device=ids.device)
        mask = mask.masked_fill(attention == 0, -math.inf)[:, None, None, :]
        for layer in self.layers:
            x = layer(x, mask)
        keep = attention.unsqueeze(-1).to(x.dtype)
        pooled = (x * keep).sum(1) / keep.sum(1)
        logits: torch.Tensor = self.head(self.dropout(pooled))
        return logits

    # Checkpoint name -> attribute path, for the encoder (the head is new).
    def name_map(self) -> dict[str, str]:
        names = {
            "embeddings.word_embeddings.weight": "word.weight",
            "embeddings.position_embeddings.weight": "position.weight",
            "embeddings.token_type_embeddings.weight": "token_type.weight",
            "embeddings.LayerNorm.weight": "emb_ln.weight",
            "embeddings.LayerNorm.bias": "emb_ln.bias",
        }
        parts = {
            "attention.self.query": "query",
            "attention.self.key": "key",
            "attention.self.value": "value",
            "attention.output.dense": "attn_out",
            "attention.output.LayerNorm": "attn_ln",
            "intermediate.dense": "inter",
            "output.dense": "out",
            "output.LayerNorm": "out_ln",
        }
        for i in range(len(self.layers)):
            for src, dst in parts.items():
                for kind in ("weight", "bias"):
                    names[f"encoder.layer.{i}.{src}.{kind}"] = f"layers.{i}.{dst}.{kind}"
        return names

    def load_checkpoint(self, weights: dict[str, np.ndarray]) -> None:
        """Copy the bundled checkpoint's encoder weights in."""
        own = self.state_dict()
        for src, dst in self.name_map().items():
            own[dst] = torch.from_numpy(np.asarray(weights[src], dtype=np.float32))
        self.load_state_dict(own)

    def export(self) -> dict[str, np.ndarray]:
        """Return the weights under checkpoint names (plus `head.*`) as float32 arrays."""
        own = self.state_dict()
        out = {src: own[dst].detach().cpu().numpy() for src, dst in self.name_map().items()}
        out["head.weight"] = own["head.weight"].detach().cpu().numpy()
        out["head.bias"] = own["head.bias"].detach().cpu().numpy()
        return out


def load_base(directory: Path, labels: int) -> CrossEncoder:
    """A cross-encoder initialised from the bundled MiniLM in `directory`."""
    import json

    from safetensors.numpy import load_file

    config = json.loads((directory / "config.json").read_text())
    model = CrossEncoder(config, labels)
    model.load_checkpoint(load_file(str(directory / "model.safetensors")))
    return model
