"""Warm start: a recipe's network begins from an existing model's weights (``[model] init_from``).

Only the weights are taken: the optimizer, step and schedule start fresh.  The model must have
the recipe's architecture, STFT, network sizes and query encoder (same weights fingerprint),
otherwise its weights would mean something else; what differs is named in one line.  With
``across_encoders`` the query encoder may differ (same embedding sizes): the separator keeps
the model's weights and training adapts its conditioning to the recipe's encoder, which costs
far fewer steps than a random start after the encoder is retrained.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from soundsift.core.config import ModelConfig
from soundsift.core.model_dir import read_config
from soundsift.core.store import resolve_model
from soundsift.errors import CheckpointError
from soundsift.model.checkpoint import load_network_weights
from soundsift.model.network import SeparatorNetwork
from soundsift.training.recipe import RecipeError


def warm_start(network: SeparatorNetwork, source: str, across_encoders: bool = False) -> None:
    """Copy the weights of model ``source`` (a name or folder, resolved as ``--model``) into ``network``;
    ``across_encoders``: the model's query encoder may differ from the network's."""
    where = f"model.init_from = {source!r}"
    try:
        path = resolve_model(source)
        found = "" if str(path) == source else f" ({path})"
        differences = config_differences(network.config, read_config(path), across_encoders)
        if differences:
            raise RecipeError(f"{where}{found} does not fit the recipe's model: {'; '.join(differences)}")
        # the encoder's fingerprint is compared above, so the weights are read without building it;
        # across encoders only their sizes can still differ, which the shape check names
        shapes = {key: tuple(value.shape) for key, value in network.state_dict().items()}
        weights = load_network_weights(path, shapes, "the recipe's network")
    except CheckpointError as exc:
        raise RecipeError(f"{where}: {exc}") from None
    network.load_state_dict(weights)


def config_differences(recipe: ModelConfig, model: ModelConfig, across_encoders: bool = False) -> list[str]:
    """What keeps ``model``'s weights from fitting the network of ``recipe``, one phrase each (empty: they fit);
    ``across_encoders``: the query encoders may differ."""
    differences = [] if recipe.architecture == model.architecture else [
        f"architecture is {recipe.architecture!r} in the recipe, {model.architecture!r} in the model"]
    differences += _field_differences("stft", recipe.stft, model.stft)
    differences += _field_differences("network", recipe.network, model.network)
    ours, theirs = recipe.encoder, model.encoder
    if ours.fingerprint != theirs.fingerprint and not across_encoders:
        differences.append(f"query encoder is {ours.name!r} (fingerprint {ours.fingerprint}) in the recipe, "
                           f"{theirs.name!r} (fingerprint {theirs.fingerprint}) in the model")
    return differences


def _field_differences(table: str, recipe: Any, model: Any) -> list[str]:
    return [f"{table}.{f.name} is {getattr(recipe, f.name)!r} in the recipe, {getattr(model, f.name)!r} in the model"
            for f in dataclasses.fields(recipe) if getattr(recipe, f.name) != getattr(model, f.name)]
