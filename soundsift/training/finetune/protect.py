"""Keeping what the base model knows while fine-tuning on a library (``soundsift finetune --protect``).

- ``distill`` (learning without forgetting): on the library's own training mixtures, queries for
  the base model's classes that the library's captions do not name must give what the frozen
  base model gives, :func:`distill_loss`;
- ``l2sp``: the weights are pulled towards the base weights (L2-SP), :func:`l2sp_loss`;
- ``replay``: a share of each batch comes from single sources of known classes (the base
  model's training corpora when they are here, else the replay pack shipped with soundsift),
  trained with the supervised loss (:mod:`.replay`).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from soundsift.model.encoders import QueryEncoder
from soundsift.model.network import SeparatorNetwork
from soundsift.training import losses
from soundsift.training.evaluate import QUERY_TEMPLATE
from soundsift.training.finetune.name_words import NameWords
from soundsift.training.regimes import MixtureBatch, query_for
from soundsift.vocabulary import Vocabulary


def protected_queries(vocabulary: Vocabulary | None, captions: Sequence[str], names: NameWords) -> list[str]:
    """Queries for the vocabulary's classes that no caption names (through :meth:`NameWords.to_classes`)."""
    if vocabulary is None:
        return []
    named = {word for caption in captions for word in names.to_classes(caption.lower().split())}
    named |= {c.label for c in vocabulary.classes if any(c.label in caption.lower() for caption in captions)}
    return [QUERY_TEMPLATE.format(label=c.label) for c in vocabulary.classes if c.label not in named]


def distill_loss(network: SeparatorNetwork, base: SeparatorNetwork, encoder: QueryEncoder, batch: MixtureBatch,
                 queries: Sequence[str], rng: np.random.Generator, per_item: int = 2) -> torch.Tensor:
    """Per item, ``per_item`` random protected queries on its mixture: L1_W(S(x, q), S_base(x, q)). -> (B,).

    Weighted like the reconstruction term (:func:`losses.weighted_l1` with the mixture's
    spectral weight), so a weight of 1 puts it on the scale of one part's L_URL.
    """
    b = batch.parts.shape[0]
    texts = [[str(q) for q in rng.choice(queries, size=min(per_item, len(queries)), replace=False)] for _ in range(b)]
    mag = network.spectrogram(batch.parts.sum(dim=1)).abs()
    query = query_for(encoder, texts, mag.device)
    with torch.no_grad():
        target = torch.sigmoid(base.mask_logits(mag, query)) * mag[:, None]
    est = torch.sigmoid(network.mask_logits(mag, query)) * mag[:, None]
    weight = losses.spectral_weight(mag)[:, None].expand_as(est)
    return losses.weighted_l1(est.flatten(0, 1), target.flatten(0, 1), weight.flatten(0, 1)).reshape(b, -1).mean(1)


def l2sp_loss(network: nn.Module, anchor: Sequence[torch.Tensor]) -> torch.Tensor:
    """Sum over the weights of (w - w_base)^2 (L2-SP, Li et al. 2018)."""
    return sum(((p - a) ** 2).sum() for p, a in zip(network.parameters(), anchor, strict=True))


@dataclass(frozen=True)
class ProtectWeights:
    """How strongly each term counts: ``distill`` on the scale of one part's L_URL, ``l2sp`` per squared weight."""

    distill: float = 5.0
    l2sp: float = 0.01
    queries_per_item: int = 2


class ProtectedLoss(nn.Module):
    """The fine-tuning loss plus the ``distill`` and ``l2sp`` terms asked for (replay changes the batches instead).

    ``base`` is a separate, frozen copy of the base model's network.
    """

    def __init__(self, loss: nn.Module, network: SeparatorNetwork, encoder: QueryEncoder, base: SeparatorNetwork,
                 protect: Sequence[str], queries: Sequence[str], rng: np.random.Generator,
                 weights: ProtectWeights = ProtectWeights()) -> None:
        super().__init__()
        self.loss, self.network, self.encoder, self.rng, self.weights = loss, network, encoder, rng, weights
        self.base = base.requires_grad_(False).eval()
        self.queries = list(queries) if "distill" in protect else []
        self.anchor = [p.detach().clone() for p in base.parameters()] if "l2sp" in protect else None

    def forward(self, batch: MixtureBatch) -> torch.Tensor:
        loss = self.loss(batch)
        if self.queries:
            library = batch.select(~batch.single.bool().any(dim=1))
            if library.parts.shape[0]:
                loss = loss + self.weights.distill * distill_loss(
                    self.network, self.base, self.encoder, library, self.queries, self.rng,
                    self.weights.queries_per_item).mean()
        if self.anchor is not None:
            loss = loss + self.weights.l2sp * l2sp_loss(self.network, self.anchor)
        return loss
