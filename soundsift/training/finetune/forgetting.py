"""The forgetting report of a fine-tuning run: known sounds scored before and after.

The check set is seeded 2-source mixtures of the replay pack's test clips (sounds the base
model knows, never replayed), each source queried as the other test sets are ("the sound of
LABEL"); the report is the mean SDRi of the base model and of the fine-tuned one, and the change.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # torch-free at import: the app's page reads the report without loading torch
    import torch

    from soundsift.model.encoders import QueryEncoder
    from soundsift.model.network import SeparatorNetwork
    from soundsift.training.evaluate import TestMixture


def check_sdri(network: SeparatorNetwork, encoder: QueryEncoder, check: Sequence[TestMixture],
               device: torch.device) -> float:
    """Mean SDRi (dB) of ``network`` over the check mixtures (the network is left in its previous mode)."""
    from soundsift.separator import Separator
    from soundsift.training import evaluate as ev

    training = network.training
    try:
        scores = ev.evaluate(ev.separator_estimator(Separator(network, encoder, device)), check, network.config.stft)
    finally:
        network.train(training)
    return float(np.mean([s.sdri for s in scores]))


def forgetting_report(base_sdri: float, tuned_sdri: float, mixtures: int) -> dict[str, Any]:
    """The numbers saved with the model (``finetune.json``): both check scores and the change, in dB."""
    return {"check_mixtures": mixtures, "base_check_sdri": round(base_sdri, 3), "check_sdri": round(tuned_sdri, 3),
            "check_change_db": round(tuned_sdri - base_sdri, 3)}


def describe_forgetting(info: dict[str, Any]) -> str:
    """One line for the console and the app: the known-sounds check before and after, or why there is none."""
    if info.get("check_sdri") is None:
        return "known sounds: not checked (no replay pack installed, or --check-mixtures 0)"
    return (f"known sounds ({info['check_mixtures']} check mixtures): SDRi {info['check_sdri']:.2f} dB, "
            f"base model {info['base_check_sdri']:.2f} dB (change {info['check_change_db']:+.2f} dB)")
