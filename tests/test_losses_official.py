"""The weak loss in the official code's form ([loss] form = "official"), checked on hand-worked examples."""
from __future__ import annotations

import math
import random

import pytest
import torch

from soundsift.training import losses
from soundsift.training.captions import clauses_with_weights
from soundsift.training.recipe import RecipeError, parse_recipe
from soundsift.training.regimes import LossWeights, separate, spectra, weak_loss
from tests.test_regimes import _batch, _model

LN2 = math.log(2.0)
ONE_HOT_CE = math.log(math.e + 1) - 1  # -log softmax([1, 0])[0]


def test_part_contrastive_loss_scores_each_part_against_its_own_clauses_and_sums_parts():
    # one item, two parts, two clauses each, logit scale 1.
    # part 0: two separations on their two distinct texts -> each -log softmax([1, 0]) = ln(e + 1) - 1
    # part 1: the same clause twice (a repeat kept): logits [1, 1] for both -> ln 2 each
    audio = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [1.0, 0.0]]]])
    text = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [1.0, 0.0]]]])
    loss = losses.part_contrastive_loss(audio, text, 1.0)
    assert loss.shape == (1,) and loss.item() == pytest.approx(ONE_HOT_CE + LN2, abs=1e-5)
    # the whole batch's clauses of the part are the candidates: the same text in two items is a
    # negative of itself, so both separations score ln 2 (logits [1, 1] and [0, 0])
    audio = torch.tensor([[[[1.0, 0.0]]], [[[0.0, 1.0]]]])
    text = torch.tensor([[[[1.0, 0.0]]], [[[1.0, 0.0]]]])
    assert losses.part_contrastive_loss(audio, text, 1.0) == pytest.approx(torch.tensor([LN2, LN2]), abs=1e-5)
    # the logit scale multiplies the cosines: softmax([2, 0]) -> ln(e^2 + 1) - 2
    audio = torch.tensor([[[[1.0, 0.0]]], [[[0.0, 1.0]]]])
    text = torch.tensor([[[[1.0, 0.0]]], [[[0.0, 1.0]]]])
    expected = math.log(math.exp(2) + 1) - 2
    assert losses.part_contrastive_loss(audio, text, 2.0) == pytest.approx(torch.tensor([expected] * 2), abs=1e-5)


def test_consistency_loss_takes_one_weight_per_part():
    # part magnitude (e - 1, 0): weight clamp(log1p) = (1, 0.001); clause sum (1.0, 0.3)
    # L_CRL = mean(1 * |1.0 - (e - 1)|, 0.001 * |0.3 - 0|)
    ref = torch.tensor([math.e - 1, 0.0]).reshape(1, 1, 1, 2)
    clauses = torch.tensor([[0.5, 0.1], [0.5, 0.2]]).reshape(1, 1, 2, 1, 2)
    got = losses.consistency_loss(clauses, torch.ones(1, 1, 2), ref, losses.spectral_weight(ref))
    expected = (abs(1.0 - (math.e - 1)) * 1.0 + 0.3 * 1e-3) / 2
    assert got.item() == pytest.approx(expected, abs=1e-6)
    mixture_weight = torch.full((1, 1, 2), 2.0)  # the project form: one weight, from the mixture
    assert losses.consistency_loss(clauses, torch.ones(1, 1, 2), ref, mixture_weight).item() == pytest.approx(
        (abs(1.0 - (math.e - 1)) + 0.3), abs=1e-6)


def test_random_clauses_use_every_clause_of_long_captions_and_weigh_random_repeats():
    caption = "a dog barks, rain falls and a bell rings"
    assert clauses_with_weights(caption, 2).clauses == ("a dog barks", "rain falls")  # project form: the first P
    rng = random.Random(0)
    seen = {t for _ in range(50) for t in clauses_with_weights(caption, 2, rng).clauses}
    assert seen == {"a dog barks", "rain falls", "a bell rings"}
    padded = clauses_with_weights("a dog barks while rain falls", 3, random.Random(1))
    assert set(padded.clauses) == {"a dog barks", "rain falls"} and padded.clauses[:2] == ("a dog barks", "rain falls")
    extra = padded.clauses[2]
    assert padded.weights == tuple(0.5 if t == extra else 1.0 for t in padded.clauses)


def test_official_weak_loss_weighs_consistency_by_each_parts_magnitude():
    net, enc = _model()
    net.eval()
    batch = _batch()  # every caption has at most P = 2 clauses, so the official draw keeps them all in order
    crl_only = LossWeights(semantic=0.0, consistency=1.0, reconstruction=0.0, form="official")
    got = weak_loss(net, enc, batch, crl_only)
    spec = spectra(net, batch)
    split = [[clauses_with_weights(c, 2) for c in item] for item in batch.captions]
    texts = [list(caps) + [t for wc in item for t in wc.clauses] for caps, item in zip(batch.captions, split)]
    est = separate(net, enc, spec, texts, batch)[:, 2:].reshape(2, 2, 2, *spec.mag.shape[-2:])
    clause_w = torch.tensor([[wc.weights for wc in item] for item in split])
    expected = losses.consistency_loss(est, clause_w, spec.part_mags, losses.spectral_weight(spec.part_mags))
    assert torch.allclose(got, expected, atol=1e-6)
    project = weak_loss(net, enc, batch, LossWeights(semantic=0.0, consistency=1.0, reconstruction=0.0))
    assert not torch.allclose(got, project)


def test_official_weak_loss_trains_and_the_form_is_a_checked_setting():
    net, enc = _model()
    loss = weak_loss(net, enc, _batch(), LossWeights(form="official"))
    assert loss.shape == (2,) and torch.isfinite(loss).all()
    loss.sum().backward()
    assert net.net.stem.weight.grad.abs().sum() > 0
    doc = {"regime": "weak", "data": {"corpora": ["c"]}, "loss": {"form": "official"}}
    assert parse_recipe(doc).loss.form == "official"
    doc["loss"]["form"] = "paper"
    with pytest.raises(RecipeError, match="form = 'paper': expected one of"):
        parse_recipe(doc)


def test_bench_rows_saved_before_the_form_existed_still_match_the_project_form():
    from research.bench import same_recipe

    saved = {"regime": "weak", "loss": {"semantic": 0.5}}
    assert same_recipe(saved, {"regime": "weak", "loss": {"semantic": 0.5, "form": "project", "noise_reg": 0.1}})
    assert not same_recipe(saved, {"regime": "weak", "loss": {"semantic": 0.5, "form": "official"}})
