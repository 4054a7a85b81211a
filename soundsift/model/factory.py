"""Create a fresh, seeded separator and its encoder from a config (for training and tests)."""
from __future__ import annotations

import dataclasses

import torch

from soundsift.core.config import ModelConfig
from soundsift.model.encoders import QueryEncoder, build_encoder
from soundsift.model.network import SeparatorNetwork, build_network


def init_model(config: ModelConfig, seed: int = 0) -> tuple[SeparatorNetwork, QueryEncoder]:
    """Build encoder and randomly initialised network; the config records the encoder's fingerprint."""
    encoder = build_encoder(dataclasses.replace(config.encoder, fingerprint=""))
    config = dataclasses.replace(config, encoder=encoder.spec())
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        network = build_network(config, encoder.dim, encoder.token_dim)
    finally:
        torch.random.set_rng_state(generator_state)
    return network, encoder
