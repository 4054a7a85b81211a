"""The symmetric InfoNCE loss of CLIP/CLAP, aware of clips that share a class."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def symmetric_info_nce(audio: torch.Tensor, text: torch.Tensor, labels: torch.Tensor,
                       logit_scale: torch.Tensor) -> torch.Tensor:
    """Mean of the audio-to-text and text-to-audio cross-entropies over a batch of pairs.

    Pair ``i`` is (``audio[i]``, ``text[i]``).  When several pairs of a batch share a class,
    each of their captions is an equally right answer for each of their clips, so the
    target spreads evenly over them; with distinct classes this is exactly CLIP's loss.

    Shapes: ``audio``, ``text`` ``(n, d)`` unit vectors, ``labels`` ``(n,)`` int -> scalar.
    """
    if audio.shape != text.shape or audio.shape[0] != labels.shape[0]:
        raise ValueError(f"expected audio and text (n, d) and labels (n,), got {tuple(audio.shape)}, "
                         f"{tuple(text.shape)}, {tuple(labels.shape)}")
    logits = logit_scale * audio @ text.T
    same = (labels[:, None] == labels[None, :]).to(logits.dtype)
    targets = same / same.sum(dim=1, keepdim=True)
    return 0.5 * (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets))
