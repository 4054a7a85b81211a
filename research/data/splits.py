"""Seeded train/val/test assignment of groups (scores, recordings, sentences, voices).

Clips are never split one by one: everything made from one group lands in one split, so
test material is never a re-crop or re-render of training material.
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence


def group_rank(group: str, seed: int) -> float:
    """A stable pseudo-random number in [0, 1) for a group name and seed."""
    digest = hashlib.sha256(f"{seed}\0{group}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign_splits(
    groups: Sequence[str], seed: int, val: float = 0.1, test: float = 0.15,
    weights: Mapping[str, float] | None = None,
) -> dict[str, str]:
    """Map each group to "train", "val" or "test".

    Groups are taken in :func:`group_rank` order: test takes groups (skipping any that would
    overshoot twice its share) until it holds ``test`` of the total weight (durations, for
    recordings), then val takes ``val`` the same way, and train keeps the rest.  With two
    groups or more, test gets at least one (the lightest, if every group is too heavy) and
    train keeps at least one; val stays empty when no group fits its share.
    """
    ranked = sorted(set(groups), key=lambda g: (group_rank(g, seed), g))
    weight = {g: (weights[g] if weights else 1.0) for g in ranked}
    total = sum(weight.values())
    result: dict[str, str] = {}
    for name, share in (("test", test), ("val", val)):
        target, taken = share * total, 0.0
        for g in list(ranked):
            if len(ranked) == 1 or taken >= target:
                break
            if taken + weight[g] <= 2 * target:
                result[g] = name
                taken += weight[g]
                ranked.remove(g)
        if name == "test" and taken == 0 and share > 0 and len(ranked) > 1:
            lightest = min(ranked, key=lambda g: (weight[g], group_rank(g, seed)))
            result[lightest] = name
            ranked.remove(lightest)
    for g in ranked:
        result[g] = "train"
    return result
