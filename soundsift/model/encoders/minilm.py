"""MiniLM-L6 (a 6-layer, 384-wide BERT) in plain torch, loaded from the wheel's safetensors.

The compact encoder's frozen text tower.  It computes what ``transformers.BertModel``
computes (the parity test compares them) without importing transformers, which takes
seconds to import and is not needed to run one small, fixed architecture; the module also
exports cleanly to ONNX.  Only the last hidden states are computed: the sentence embedding
is their mean over real tokens (sentence-transformers' pooling for all-MiniLM-L6-v2).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from soundsift.errors import CheckpointError
from soundsift.model.encoders.minilm_files import MiniLMFiles

_UNUSED_KEYS = ("embeddings.position_ids", "pooler.")


@dataclass(frozen=True)
class BertConfig:
    """The fields of a BERT ``config.json`` that decide the architecture."""

    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    max_position_embeddings: int
    type_vocab_size: int
    layer_norm_eps: float

    @classmethod
    def read(cls, path: Path) -> BertConfig:
        """Read ``config.json``; anything but an absolute-position, GELU BERT is refused."""
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("model_type") != "bert" or data.get("hidden_act") != "gelu" or data.get(
            "position_embedding_type", "absolute"
        ) != "absolute":
            raise CheckpointError(f"{path}: expected a BERT config with GELU and absolute positions")
        try:
            return cls(**{name: data[name] for name in cls.__dataclass_fields__})
        except KeyError as exc:
            raise CheckpointError(f"{path}: missing field {exc}") from None


class _Embeddings(nn.Module):
    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.position_embeddings = nn.Embedding(cfg.max_position_embeddings, cfg.hidden_size)
        self.token_type_embeddings = nn.Embedding(cfg.type_vocab_size, cfg.hidden_size)
        self.LayerNorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = self.word_embeddings(input_ids) + self.position_embeddings(positions) + self.token_type_embeddings.weight[0]
        return self.LayerNorm(x)


class _SelfAttention(nn.Module):
    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.heads = cfg.num_attention_heads
        self.head_dim = cfg.hidden_size // cfg.num_attention_heads
        self.query = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.key = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.value = nn.Linear(cfg.hidden_size, cfg.hidden_size)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        n, length = x.shape[:2]

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(n, length, self.heads, self.head_dim).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = q @ k.transpose(-1, -2) * (1.0 / math.sqrt(self.head_dim)) + bias
        return (scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(n, length, self.heads * self.head_dim)


class _Residual(nn.Module):
    """``LayerNorm(dense(x) + residual)``: BERT's ``*.output`` blocks."""

    def __init__(self, width_in: int, width_out: int, eps: float) -> None:
        super().__init__()
        self.dense = nn.Linear(width_in, width_out)
        self.LayerNorm = nn.LayerNorm(width_out, eps=eps)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dense(x) + residual)


class _Attention(nn.Module):
    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.self = _SelfAttention(cfg)
        self.output = _Residual(cfg.hidden_size, cfg.hidden_size, cfg.layer_norm_eps)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        return self.output(self.self(x, bias), x)


class _Intermediate(nn.Module):
    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(cfg.hidden_size, cfg.intermediate_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.dense(x))


class _Layer(nn.Module):
    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.attention = _Attention(cfg)
        self.intermediate = _Intermediate(cfg)
        self.output = _Residual(cfg.intermediate_size, cfg.hidden_size, cfg.layer_norm_eps)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        attended = self.attention(x, bias)
        return self.output(self.intermediate(attended), attended)


class _Encoder(nn.Module):
    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList(_Layer(cfg) for _ in range(cfg.num_hidden_layers))


class MiniLM(nn.Module):
    """BERT encoder without the pooler. Shape: ids, mask ``(n, L)`` -> hidden states ``(n, L, hidden)``."""

    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.config = cfg
        self.embeddings = _Embeddings(cfg)
        self.encoder = _Encoder(cfg)

    @classmethod
    def load(cls, files: MiniLMFiles) -> MiniLM:
        """Build from the folder's ``config.json`` and load ``model.safetensors`` (strictly), frozen, in eval mode."""
        model = cls(BertConfig.read(files.config))
        try:
            state = load_file(str(files.weights))
        except (SafetensorError, OSError) as exc:
            raise CheckpointError(f"{files.weights}: cannot be read as safetensors ({exc})") from None
        state = {k: v for k, v in state.items() if not k.startswith(_UNUSED_KEYS)}
        try:
            model.load_state_dict(state)
        except RuntimeError as exc:
            raise CheckpointError(f"{files.weights}: does not fit {files.config}: {exc}") from None
        model.requires_grad_(False)
        return model.eval()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        bias = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * torch.finfo(torch.float32).min
        x = self.embeddings(input_ids)
        for layer in self.encoder.layer:
            x = layer(x, bias)
        return x


def mean_pool(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over real tokens. Shape: states ``(n, L, d)``, mask ``(n, L)`` (1 = token) -> ``(n, d)``."""
    weights = mask.to(states.dtype).unsqueeze(-1)
    return (states * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1e-9)
