"""Embedding audio queries with an encoder's audio tower (the torch side of :mod:`soundsift.queries`).

See :mod:`soundsift.queries` for the exact recipe: windows averaged per example, examples
averaged, then an optional weighted blend with text, renormalised after each average.
"""
from __future__ import annotations

import numpy as np
import torch

from soundsift.model.encoders import QueryEncoder
from soundsift.queries import AudioQuery, windows


def unit(vector: torch.Tensor) -> torch.Tensor:
    """``vector / |vector|`` along the last axis."""
    return vector / vector.norm(dim=-1, keepdim=True).clamp_min(1e-8)


def embed_clip(encoder: QueryEncoder, mono: np.ndarray, sample_rate: int) -> torch.Tensor:
    """Unit embedding ``(dim,)`` of one checked mono clip: the mean of its windows' embeddings."""
    parts = windows(mono, sample_rate)
    with torch.inference_mode():
        embs = torch.cat([encoder.encode_audio(torch.from_numpy(np.ascontiguousarray(p))[None], sample_rate)
                          for p in parts])
    return unit(unit(embs).mean(dim=0))


def embed_audio_query(encoder: QueryEncoder, query: AudioQuery, sample_rate: int) -> torch.Tensor:
    """The query's unit embedding ``(dim,)``; examples are read and checked at ``sample_rate``."""
    clips = torch.stack([embed_clip(encoder, ex.load(sample_rate), sample_rate) for ex in query.examples])
    audio = unit(clips.mean(dim=0))
    if query.text is None or query.text_weight == 0.0:
        return audio
    with torch.inference_mode():
        text = encoder.encode_text([query.text])[0].to(audio.device)
    return unit((1.0 - query.text_weight) * audio + query.text_weight * text)
