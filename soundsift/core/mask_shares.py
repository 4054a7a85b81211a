"""The rule that makes several queries' masks one consistent split of the input.

Each query's mask is estimated on its own, so where several queries claim the same sound
their masks can add up to more than one, and ``rest = input - sum(stems)`` would then take
that sound out more than once (a rest louder than the input).  Both engines therefore scale
the masks of one separation, per time-frequency bin, so that they sum to at most one:
where they already do, nothing changes; where they do not, each is divided by their sum.
Every stem is then a non-negative share of the input, and ``rest`` keeps what remains.
Written once for numpy arrays and torch tensors alike (both spell these methods the same).
"""
from __future__ import annotations

from typing import TypeVar

Masks = TypeVar("Masks")  # a numpy.ndarray or a torch.Tensor


def share_masks(masks: Masks, axis: int = 0) -> Masks:
    """Masks in ``[0, 1]`` with queries along ``axis`` -> masks whose sum over queries is at most one.

    A single query's mask is returned as it is (the same object).
    """
    if masks.shape[axis] < 2:
        return masks
    total = masks.sum(axis=axis, keepdims=True)
    return masks / total.clip(min=1.0)
