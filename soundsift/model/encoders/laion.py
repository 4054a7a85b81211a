"""The ``laion`` query encoder: LAION-CLAP through the ``laion-clap`` package.

HTSAT (or PANN) audio tower, RoBERTa text tower, both projected to a shared 512-d space.
It runs fully offline from two things the user has: a LAION-CLAP checkpoint file and a
folder with roberta-base's config and tokenizer files (the checkpoint holds every weight,
the folder only the architecture and vocabulary).  See ``docs/encoders.md``.

Options:
    checkpoint: path of a LAION-CLAP checkpoint, e.g. ``630k-audioset-best.pt`` (read
        weights-only), or a ``.safetensors`` file holding the same state dict.  Required.
    text_model_dir: folder with roberta-base's ``config.json``, ``vocab.json`` and
        ``merges.txt``; empty (the default) looks for roberta-base in the Hugging Face cache.
    amodel: laion-clap's audio model config, ``"HTSAT-tiny"`` (default, the 630k
        checkpoints) or ``"HTSAT-base"`` (the music checkpoints), ...
    enable_fusion: ``True`` for the feature-fusion checkpoints (``*-fusion-best.pt``).

The checkpoint and text folder locations are not part of the fingerprint, so a separator
keeps working when the same files move.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from soundsift.errors import CheckpointError
from soundsift.model.encoders.base import EncoderError, QueryEncoder
from soundsift.model.encoders.laion_audio import ClipSpec, fit_to_clip, fusion_mel
from soundsift.model.encoders.laion_package import (
    build_clap,
    clap_model_module,
    load_text_model,
    load_weights,
    read_checkpoint,
)
from soundsift.model.resample import resample

_DEFAULTS: dict[str, Any] = {"amodel": "HTSAT-tiny", "enable_fusion": False, "text_model_dir": ""}
_LOCATIONS = ("checkpoint", "text_model_dir")
_MAX_TOKENS = 77  # LAION-CLAP's text context length


class LaionClapEncoder(QueryEncoder):
    """LAION-CLAP, frozen and always in eval mode; both towers embed into the same unit sphere."""

    name = "laion"

    def __init__(self, options: dict[str, Any]) -> None:
        unknown = sorted(set(options) - {"checkpoint", *_DEFAULTS})
        if unknown:
            raise EncoderError(f"unknown laion encoder options {unknown}; known: {sorted(['checkpoint', *_DEFAULTS])}")
        if not options.get("checkpoint"):
            raise CheckpointError("the laion encoder needs option 'checkpoint': the path of a LAION-CLAP "
                                  "checkpoint such as 630k-audioset-best.pt")
        merged = {**_DEFAULTS, **options}
        for key in _LOCATIONS:
            if merged[key]:
                merged[key] = str(Path(merged[key]).expanduser().resolve())
        super().__init__(merged)
        clap_model_module()  # a missing laion-clap install is reported before anything else
        path = Path(merged["checkpoint"])
        state = read_checkpoint(path)
        text_config, self.tokenizer = load_text_model(merged["text_model_dir"])
        self.fusion = bool(merged["enable_fusion"])
        self.clap = build_clap(str(merged["amodel"]), self.fusion, text_config)
        hint = (f"laion-clap model amodel='{merged['amodel']}', enable_fusion={self.fusion} (fusion checkpoints "
                "need enable_fusion, the music checkpoints amodel='HTSAT-base')")
        load_weights(self.clap, state, path, hint)
        self.clap.requires_grad_(False)
        self.clap.eval()
        cfg = self.clap.audio_cfg
        self.clip = ClipSpec(cfg.sample_rate, cfg.clip_samples, cfg.window_size, cfg.hop_size, cfg.mel_bins,
                             cfg.fmin, cfg.fmax)
        self._digest = ""

    @property
    def dim(self) -> int:
        return int(self.clap.joint_embed_shape)

    @property
    def token_dim(self) -> int:
        return int(self.clap.text_branch.config.hidden_size)

    @property
    def logit_scale(self) -> float:
        """CLAP's learned audio-to-text logit scale."""
        return float(self.clap.logit_scale_a.exp())

    @property
    def device(self) -> torch.device:
        return self.clap.logit_scale_a.device

    def train(self, mode: bool = True) -> LaionClapEncoder:
        """Stay in eval mode whatever is asked: in training mode the towers augment and drop out."""
        return super().train(False)

    def _tokens(self, texts: list[str]) -> dict[str, torch.Tensor]:
        batch = self.tokenizer(list(texts), padding="longest", truncation=True, max_length=_MAX_TOKENS,
                               return_tensors="pt")
        return {key: batch[key].to(self.device) for key in ("input_ids", "attention_mask")}

    def encode_text(self, texts: list[str]) -> torch.Tensor:
        """Shape: ``(n,)`` strings -> ``(n, 512)`` unit vectors (RoBERTa pooler, CLAP text projection)."""
        return F.normalize(self.clap.encode_text(self._tokens(texts), device=self.device), dim=-1)

    def token_states(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """RoBERTa's last hidden states ``(n, L, 768)`` and padding mask ``(n, L)``, True where padded."""
        tokens = self._tokens(texts)
        states = self.clap.text_branch(**tokens).last_hidden_state
        return states, tokens["attention_mask"] == 0

    def encode_audio(self, waveform: torch.Tensor, sample_rate: int) -> torch.Tensor:
        """Embed audio differentiably. Shape: ``(n, samples)`` mono at ``sample_rate`` -> ``(n, 512)``.

        Audio is resampled to 48 kHz; clips shorter than 10 s are repeated and padded; longer
        ones are cropped to their centre (non-fusion) or summarised by the fusion input.
        """
        if waveform.dim() != 2 or waveform.shape[-1] == 0:
            raise ValueError(f"encode_audio expects (n, samples) mono audio, got shape {tuple(waveform.shape)}")
        wave = resample(waveform.to(device=self.device, dtype=torch.float32), sample_rate, self.clip.sample_rate)
        if self.fusion:
            mel, longer = fusion_mel(wave, self.clip)
            inputs = {"mel_fusion": mel, "longer": longer.to(self.device)}
        else:
            longer = torch.zeros(wave.shape[0], dtype=torch.bool, device=self.device)
            inputs = {"waveform": fit_to_clip(wave, self.clip.clip_samples), "longer": longer}
        embedding = self.clap.encode_audio(inputs, device=self.device)["embedding"]
        return F.normalize(self.clap.audio_projection(embedding), dim=-1)

    def fingerprint_options(self) -> dict[str, Any]:
        """Architecture options and the tokenizer's vocabulary; not where the files are."""
        vocabulary = json.dumps(sorted(self.tokenizer.get_vocab().items()), ensure_ascii=False)
        identity = {key: value for key, value in self.options.items() if key not in _LOCATIONS}
        return {**identity, "vocabulary": hashlib.sha256(vocabulary.encode()).hexdigest()}

    def weights_digest(self) -> str:
        """As the base class computes it, once: the weights are frozen."""
        if not self._digest:
            self._digest = super().weights_digest()
        return self._digest
