"""Mean-pooled MiniLM states of caption strings, computed once: MiniLM is frozen during training."""
from __future__ import annotations

from collections.abc import Sequence

import torch

from soundsift.model.encoders.minilm import MiniLM, mean_pool
from soundsift.model.encoders.minilm_files import MiniLMFiles, load_tokenizer, tokenize


class TextFeatures:
    """A table of pooled MiniLM states, one row per distinct string, filled on demand."""

    def __init__(self, files: MiniLMFiles, batch_size: int = 128) -> None:
        self.model = MiniLM.load(files)
        self.tokenizer = load_tokenizer(files.tokenizer, files.max_length)
        self.batch_size = batch_size
        self._rows: dict[str, torch.Tensor] = {}

    def __call__(self, texts: Sequence[str]) -> torch.Tensor:
        """Shape: ``(n,)`` strings -> ``(n, 384)`` pooled states (not normalised, not projected)."""
        todo = sorted({t for t in texts if t not in self._rows})
        for start in range(0, len(todo), self.batch_size):
            chunk = todo[start : start + self.batch_size]
            ids, mask = tokenize(self.tokenizer, chunk)
            with torch.no_grad():
                pooled = mean_pool(self.model(torch.from_numpy(ids), torch.from_numpy(mask)), torch.from_numpy(mask))
            self._rows.update(zip(chunk, pooled))
        return torch.stack([self._rows[t] for t in texts])
