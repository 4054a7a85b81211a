"""CLIPSep's noise invariant training as in the official code: binary targets, clipped mask sums,
noise heads shared out by permutation and conditioned on the item's queries, and the noise bound."""
from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from soundsift.training import losses
from soundsift.training.recipe import RecipeError, parse_recipe
from soundsift.training.regimes import LossWeights, noise_invariant_regime_loss, noise_queries, query_for
from tests.test_regimes import _batch, _model


def test_binary_target_marks_bins_where_a_part_holds_more_than_half_the_mixture():
    parts = torch.tensor([[[[0.6, 0.4, 0.0]], [[0.4, 0.6, 1.0]]]])
    mixture = torch.tensor([[[1.0, 1.0, 1.0]]])
    assert losses.binary_target(parts, mixture).tolist() == [[[[1.0, 0.0, 0.0]], [[0.0, 1.0, 1.0]]]]


def test_noise_invariant_loss_takes_the_best_permutation_of_clipped_mask_sums():
    # one bin; query masks 0.5 and 0.2, noise masks 0.3 and 0.6, targets 1 and 0.
    # heads in order: m = (0.8, 0.8) -> (-ln 0.8 - ln 0.2) / 2 = 0.9163
    # heads swapped:  m = (min(1, 1.1), 0.5) -> (0 - ln 0.5) / 2 = 0.3466 (the mask sum clipped at 1)
    # both heads to part 0 (a free assignment, not a permutation) would give (0 - ln 0.8) / 2 = 0.1116
    query = torch.tensor([0.5, 0.2]).reshape(1, 2, 1, 1)
    noise = torch.tensor([0.3, 0.6]).reshape(1, 2, 1, 1)
    target = torch.tensor([1.0, 0.0]).reshape(1, 2, 1, 1)
    loss = losses.noise_invariant_loss(query, noise, target, torch.ones(1, 1, 1))
    assert loss.item() == pytest.approx(-math.log(0.5) / 2, abs=1e-5)
    doubled = losses.noise_invariant_loss(query, noise, target, torch.full((1, 1, 1), 2.0))
    assert doubled.item() == pytest.approx(-math.log(0.5), abs=1e-5)
    with pytest.raises(ValueError, match="3 noise heads cannot be shared equally among 2 parts"):
        losses.noise_invariant_loss(query, torch.rand(1, 3, 1, 1), target, torch.ones(1, 1, 1))


def test_noise_regulariser_bounds_the_batch_mean_activity_of_the_noise_heads():
    # per-bin head sums: item 0 -> 0.2, item 1 -> 0.5; batch mean 0.35; 0.35 - 0.25 = 0.1 for every item
    noise = torch.tensor([[0.1, 0.1], [0.3, 0.2]]).reshape(2, 2, 1, 1)
    assert losses.noise_regulariser(noise, 0.25) == pytest.approx(torch.tensor([0.1, 0.1]), abs=1e-6)
    assert losses.noise_regulariser(noise, 0.5).abs().max() == 0


@pytest.mark.parametrize("cross_attention", [False, True])
def test_noise_heads_follow_the_mean_of_the_items_queries_and_train(cross_attention):
    net, enc = _model(cross_attention)
    batch = _batch()
    query = query_for(enc, batch.captions, torch.device("cpu"))
    heads = noise_queries(net, query)
    assert heads.embedding.shape == (2, 2, query.embedding.shape[-1])
    assert not torch.allclose(heads.embedding[0], heads.embedding[1])  # items with other queries get other heads
    swapped = query_for(enc, [item[::-1] for item in batch.captions], torch.device("cpu"))
    assert torch.allclose(noise_queries(net, swapped).embedding, heads.embedding, atol=1e-6)  # the mean: order-free
    loss = noise_invariant_regime_loss(net, enc, batch, LossWeights())
    assert loss.shape == (2,) and torch.isfinite(loss).all() and (loss > 0).all()
    loss.sum().backward()
    assert net.learned.grad is not None and net.learned.grad.abs().sum() > 0


def test_noise_bound_weight_and_threshold_come_from_the_loss_table():
    net, enc = _model()
    batch = _batch()
    free = noise_invariant_regime_loss(net, enc, batch, LossWeights(noise_reg=0.0))
    bounded = noise_invariant_regime_loss(net, enc, batch, LossWeights(noise_reg=0.1, noise_threshold=0.0))
    assert torch.all(bounded > free)


def test_nit_recipe_needs_noise_heads_shared_equally_among_parts():
    doc = {"regime": "nit", "data": {"corpora": ["c"], "parts": 2}, "model": {"network": {"learned_queries": 3}}}
    with pytest.raises(RecipeError, match="learned_queries = 3 is not a multiple of data.parts = 2"):
        parse_recipe(doc)
    doc["model"]["network"]["learned_queries"] = 4
    assert parse_recipe(doc).loss.noise_reg == 0.1


def test_bench_has_a_nit_row_built_from_the_nit_recipe(tmp_path):
    from research.bench import BUDGETS, ROWS, row_recipe

    row = next(r for r in ROWS if r.name == "nit")
    recipe = row_recipe(row, BUDGETS["small"], tmp_path, None, 0)
    assert recipe.regime == "nit" and recipe.model.network.learned_queries == 2
    assert dataclasses.asdict(recipe.loss)["noise_threshold"] == 0.25


def test_nit_overfits_a_batch():
    net, enc = _model()
    batch = _batch()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    first = noise_invariant_regime_loss(net, enc, batch, LossWeights()).mean().item()
    for _ in range(20):
        loss = noise_invariant_regime_loss(net, enc, batch, LossWeights()).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.85 * first
