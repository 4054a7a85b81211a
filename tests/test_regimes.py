"""Training regimes: losses run end to end on tiny batches and send gradients where they should."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from soundsift.core import EncoderSpec, ModelConfig
from soundsift.model import init_model
from soundsift.model.encoders.ngram import NgramTextEncoder
from soundsift.model.unet import Query
from soundsift.training.regimes import (
    BLEND_MARGIN,
    REGIMES,
    LossWeights,
    MixtureBatch,
    blend,
    jitter,
    mix_separate_loss,
    mixit_regime_loss,
    noise_invariant_regime_loss,
    remix_loss,
    semi_loss,
    weak_loss,
)
from tests.conftest import TINY


class FrozenAudioTower(NgramTextEncoder):
    """The ngram text encoder plus a small frozen audio tower, standing in for a CLAP model."""

    def __init__(self) -> None:
        super().__init__({"dim": 32})
        torch.manual_seed(0)
        self.tower = torch.nn.Sequential(torch.nn.Conv1d(1, 8, 64, stride=32), torch.nn.ReLU(),
                                         torch.nn.AdaptiveAvgPool1d(1), torch.nn.Flatten(), torch.nn.Linear(8, 32))
        self.requires_grad_(False)

    def encode_audio(self, waveform: torch.Tensor, sample_rate: int) -> torch.Tensor:
        return torch.nn.functional.normalize(self.tower(waveform[:, None]), dim=-1)


def _batch(single: bool = False, seed: int = 0) -> MixtureBatch:
    rng = np.random.default_rng(seed)
    t = np.arange(8192) / 16000
    parts = np.stack([[np.sin(2 * np.pi * f * t) * 0.3 + 0.05 * rng.standard_normal(t.size) for f in (220, 1500)],
                      [np.sign(np.sin(2 * np.pi * f * t)) * 0.2 for f in (330, 90)]]).astype(np.float32)
    captions = [["a violin", "a flute"], ["a trumpet", "a tuba"]] if single else \
        [["a violin and a flute", "a dog barks while rain falls"], ["a trumpet plays", "a man talks with music"]]
    return MixtureBatch(torch.from_numpy(parts), captions, torch.full((2, 2), single))


def _model(cross_attention: bool = False):
    network = dataclasses.replace(TINY, learned_queries=2, cross_attention=cross_attention)
    net, _ = init_model(ModelConfig(network=network, encoder=EncoderSpec(options={"dim": 32})), seed=0)
    return net.train(), FrozenAudioTower()


def test_mix_separate_overfits_a_batch():
    net, enc = _model()
    batch = _batch(single=True)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    first = mix_separate_loss(net, enc, batch, LossWeights()).mean()
    for _ in range(20):
        loss = mix_separate_loss(net, enc, batch, LossWeights()).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.85 * first.item()


def test_weak_loss_gradient_reaches_the_separator_through_the_frozen_encoder():
    net, enc = _model()
    batch = _batch()
    semantic_only = LossWeights(semantic=1.0, consistency=0.0, reconstruction=0.0)
    loss = weak_loss(net, enc, batch, semantic_only)
    assert loss.shape == (2,) and torch.isfinite(loss).all()
    loss.sum().backward()
    assert net.net.stem.weight.grad is not None and net.net.stem.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in enc.parameters())


def test_remix_loss_trains_the_network_on_fixed_targets():
    net, enc = _model()
    clause_est = torch.rand(2, 2, 2, 65, 17, requires_grad=True)
    texts = [[["a violin", "a flute"], ["a dog", "rain"]], [["a trumpet", "a tuba"], ["a man", "music"]]]
    loss = remix_loss(net, enc, clause_est, texts)
    assert loss.shape == (2,) and torch.isfinite(loss).all() and (loss > 0).all()
    loss.sum().backward()
    assert clause_est.grad is None  # the clause separations are targets, not trained through this term
    assert net.net.stem.weight.grad.abs().sum() > 0


def test_remix_loss_is_zero_when_each_mask_passes_exactly_its_own_separation():
    class IdealMasks:
        """Query 0 owns the low bins, query 1 the high ones: the ideal masks for the targets below."""

        def mask_logits(self, magnitude, query):
            low = torch.arange(magnitude.shape[-2])[:, None] < magnitude.shape[-2] // 2
            own = torch.stack([low, ~low]).expand(magnitude.shape[0], 2, -1, magnitude.shape[-1])
            return torch.where(own, 50.0, -50.0)

    clause_est = torch.zeros(2, 2, 2, 64, 9)
    clause_est[:, 0, :, :32] = torch.rand(2, 2, 32, 9) + 0.1
    clause_est[:, 1, :, 32:] = torch.rand(2, 2, 32, 9) + 0.1
    texts = [[["a violin", "a flute"], ["a dog", "rain"]]] * 2
    _, enc = _model()
    assert remix_loss(IdealMasks(), enc, clause_est, texts).abs().max() < 1e-5
    swapped = clause_est.flip(1)
    assert (remix_loss(IdealMasks(), enc, swapped, texts) > 0.1).all()


def test_weak_loss_adds_the_remix_term_only_when_weighted():
    net, enc = _model()
    batch = _batch()
    torch.manual_seed(0)
    plain = weak_loss(net, enc, batch, LossWeights())
    torch.manual_seed(0)
    with_remix = weak_loss(net, enc, batch, LossWeights(remix=2.0))
    assert (with_remix > plain).all()


def test_semi_loss_uses_supervised_loss_on_single_source_items():
    net, enc = _model()
    single, weak = _batch(single=True), _batch()
    mixed = MixtureBatch(torch.cat([single.parts[:1], weak.parts[1:]]), [single.captions[0], weak.captions[1]],
                         torch.tensor([[True, True], [False, False]]))
    weights = LossWeights(lambda_s=2.0, lambda_u=0.5)
    out = semi_loss(net, enc, mixed, weights)
    sup = mix_separate_loss(net, enc, MixtureBatch(single.parts[:1], single.captions[:1], single.single[:1]), weights)
    wk = weak_loss(net, enc, MixtureBatch(weak.parts[1:], weak.captions[1:], weak.single[1:]), weights)
    # one item of each in a batch of two: each term is the mean over its own items, so both count double
    torch.testing.assert_close(out, torch.cat([2.0 * 2 * sup, 0.5 * 2 * wk]))


def test_every_regime_runs():
    net, enc = _model()
    for name, fn in REGIMES.items():
        assert torch.isfinite(fn(net, enc, _batch(single=name == "supervised"), LossWeights())).all(), name


def test_nit_trains_the_noise_heads_with_and_without_cross_attention():
    for cross in (False, True):
        net, enc = _model(cross)
        loss = noise_invariant_regime_loss(net, enc, _batch(), LossWeights())
        loss.sum().backward()
        assert net.learned.grad is not None and net.learned.grad.abs().sum() > 0


def test_mixit_regime_sends_gradient_to_the_slots():
    net, enc = _model()
    loss = mixit_regime_loss(net, enc, _batch(), LossWeights())
    assert loss.shape == (2,)
    loss.sum().backward()
    assert net.learned.grad is not None and net.learned.grad.abs().sum() > 0


def test_jitter_moves_the_part_queries_by_the_asked_length_and_is_seeded():
    emb = torch.nn.functional.normalize(torch.randn(3, 4, 32, generator=torch.Generator().manual_seed(0)), dim=-1)
    query = Query(emb, None, None)
    moved = jitter(query, 2, 0.5, seed=7).embedding
    assert torch.equal(moved, jitter(query, 2, 0.5, seed=7).embedding)
    assert not torch.allclose(moved, jitter(query, 2, 0.5, seed=8).embedding)
    assert torch.equal(moved[:, 2:], emb[:, 2:]) and torch.allclose(moved.norm(dim=-1), torch.ones(3, 4))
    cos = (moved[:, :2] * emb[:, :2]).sum(-1)
    assert 0.75 < cos.mean() < 0.99 and (cos < 0.999).all()  # a random step of 0.5 from a unit vector: about 0.9


def test_blend_keeps_each_part_query_nearest_its_own_part_and_is_seeded():
    emb = torch.nn.functional.normalize(torch.randn(6, 4, 32, generator=torch.Generator().manual_seed(0)), dim=-1)
    query = Query(emb, None, None)
    mixed = blend(query, 2, 0.7, seed=5).embedding
    assert torch.equal(mixed, blend(query, 2, 0.7, seed=5).embedding)
    assert torch.equal(mixed[:, 2:], emb[:, 2:]) and torch.allclose(mixed.norm(dim=-1), torch.ones(6, 4))
    cosine = mixed[:, :2] @ emb[:, :2].transpose(1, 2)  # (item, blended part, original part)
    own, other = cosine.diagonal(dim1=1, dim2=2), cosine.flip(-1).diagonal(dim1=1, dim2=2)
    moved = own < 0.9999
    assert moved.any() and (own[moved] > other[moved] + BLEND_MARGIN).all()
    assert (own[moved] < 0.95).any()  # shares of up to 70% reach far from the caption
    assert torch.allclose(blend(query, 2, 0.7, seed=6).embedding[:, 2:], emb[:, 2:])


def test_blend_leaves_a_query_that_would_come_nearer_another_part_as_it_was():
    a, b = torch.eye(4)[:2]
    emb = torch.stack([a, b])[None].repeat(3, 1, 1)  # every item: two parts, and the batch holds only a and b
    mixed = blend(Query(emb, None, None), 2, 0.99, seed=0).embedding
    cosine = mixed @ emb.transpose(1, 2)
    assert (cosine.diagonal(dim1=1, dim2=2) > cosine.flip(-1).diagonal(dim1=1, dim2=2) + BLEND_MARGIN).all()


def test_query_noise_changes_the_loss_only_when_asked():
    net, enc = _model()
    plain = _batch(single=True)
    noisy = dataclasses.replace(plain, query_noise=0.5, noise_seed=3)
    base = mix_separate_loss(net, enc, plain, LossWeights())
    assert torch.equal(base, mix_separate_loss(net, enc, dataclasses.replace(plain, noise_seed=3), LossWeights()))
    assert not torch.allclose(base, mix_separate_loss(net, enc, noisy, LossWeights()))
    assert torch.equal(mix_separate_loss(net, enc, noisy, LossWeights()), mix_separate_loss(net, enc, noisy, LossWeights()))
    blended = dataclasses.replace(plain, query_blend=0.7, noise_seed=3)
    assert not torch.allclose(base, mix_separate_loss(net, enc, blended, LossWeights()))


def test_weak_loss_whitened_semantic_term_ignores_a_clause_filter():
    """With semantic_whiten, L_CNT hears a clause separation coloured by a fixed filter as the uncoloured one."""
    net, enc = _model()
    batch = _batch()
    unfiltered = net.mask_logits

    def filtered(magnitude, query):
        """Clause masks (after the 2 captions) times a fixed gain per bin, down to -30 dB (inside 40 dB)."""
        logits = unfiltered(magnitude, query)
        gain = torch.logspace(0.0, -1.5, logits.shape[-2])[:, None]
        mask = torch.sigmoid(logits[:, 2:]) * gain
        return torch.cat([logits[:, :2], torch.log(mask / (1 - mask))], dim=1)

    def semantic_only(weights):
        return weak_loss(net, enc, batch, dataclasses.replace(weights, consistency=0.0, reconstruction=0.0))

    flat = semantic_only(LossWeights(semantic_whiten=40.0))
    plain = semantic_only(LossWeights())
    net.mask_logits = filtered
    assert torch.allclose(semantic_only(LossWeights(semantic_whiten=40.0)), flat, rtol=2e-3)
    assert not torch.allclose(semantic_only(LossWeights()), plain, rtol=2e-3)
    with pytest.raises(ValueError, match="semantic_whiten"):
        LossWeights(semantic_whiten=-1.0)


@pytest.mark.parametrize("retired", ["exclusion", "activity", "synonym_cosine"])
def test_loss_terms_that_were_not_kept_are_unknown_recipe_keys(retired):
    from soundsift.training.recipe import RecipeError, parse_recipe

    with pytest.raises(RecipeError, match=retired):
        parse_recipe({"regime": "weak", "data": {"corpora": ["c"]}, "loss": {retired: 1.0}})
