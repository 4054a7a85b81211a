"""Class-balanced batches of (clip, caption) pairs, drawn from a seeded ``torch.Generator``."""
from __future__ import annotations

from collections.abc import Sequence

import torch


class PairSampler:
    """Each batch takes distinct classes where it can (uniform over classes), then a random clip
    of each class and a random caption from that class's pool.

    ``label_ids`` ``(n_clips,)`` gives each clip's class index; ``pools[c]`` holds the indices
    (into a caption table) of class ``c``'s captions.
    """

    def __init__(self, label_ids: torch.Tensor, pools: Sequence[Sequence[int]]) -> None:
        self.n_classes = len(pools)
        self.clips_of = [torch.nonzero(label_ids == c).flatten() for c in range(self.n_classes)]
        empty = [c for c, clips in enumerate(self.clips_of) if clips.numel() == 0]
        if empty or any(len(p) == 0 for p in pools):
            raise ValueError(f"every class needs clips and captions; classes without clips: {empty}")
        self.pools = [torch.tensor(list(p), dtype=torch.int64) for p in pools]

    def sample(self, batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Clip indices, caption indices and class indices of one batch, each ``(batch_size,)``."""
        rounds = -(-batch_size // self.n_classes)
        classes = torch.cat([torch.randperm(self.n_classes, generator=generator) for _ in range(rounds)])[:batch_size]
        clips, captions = [], []
        for c in classes.tolist():
            options, pool = self.clips_of[c], self.pools[c]
            clips.append(options[torch.randint(len(options), (1,), generator=generator)])
            captions.append(pool[torch.randint(len(pool), (1,), generator=generator)])
        return torch.cat(clips), torch.cat(captions), classes
