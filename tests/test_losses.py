"""Properties of the training losses."""
from __future__ import annotations

import pytest
import torch

from soundsift.training import losses

torch.manual_seed(0)


def _mags(*shape):
    return torch.rand(*shape) * 3


def test_spectral_weight_is_clamped():
    w = losses.spectral_weight(torch.tensor([[[0.0, 1.0, 1e9]]]))
    assert w.min() >= 1e-3 and w.max() <= 10 and w[0, 0, 1] == pytest.approx(torch.log1p(torch.tensor(1.0)))


def test_reconstruction_zero_at_ideal_and_positive_elsewhere():
    refs = _mags(2, 2, 8, 5)
    w = losses.spectral_weight(refs.sum(1))
    assert torch.all(losses.reconstruction_loss(refs, refs, w) == 0)
    assert torch.all(losses.reconstruction_loss(refs * 0.5, refs, w) > 0)


def test_ideal_ratio_mask_gives_zero_url():
    sources = _mags(3, 2, 8, 5)
    mix = sources.sum(1)
    masks = sources / mix[:, None]
    est = masks * mix[:, None]
    assert losses.reconstruction_loss(est, sources, losses.spectral_weight(mix)).abs().max() < 1e-6


def test_consistency_uses_repeat_weights():
    refs = _mags(2, 2, 8, 5)
    w = losses.spectral_weight(refs.sum(1))
    part = refs[:, :, None] * torch.tensor([0.25, 0.75])[None, None, :, None, None]
    weights = torch.ones(2, 2, 2)
    assert losses.consistency_loss(part, weights, refs, w).abs().max() < 1e-6
    repeated = torch.stack([refs, refs], dim=2)
    assert losses.consistency_loss(repeated, torch.full((2, 2, 2), 0.5), refs, w).abs().max() < 1e-6
    with pytest.raises(ValueError, match="disagree"):
        losses.consistency_loss(repeated, torch.ones(2, 2, 3), refs, w)


def test_semantic_loss_prefers_matching_clauses_and_sends_gradient_to_audio():
    text = torch.nn.functional.normalize(torch.randn(3, 16), dim=-1)
    audio = (text + 0.01 * torch.randn(3, 16)).requires_grad_()
    good = losses.semantic_loss(audio, text, torch.tensor([0, 1, 2]), 1 / 0.07)
    bad = losses.semantic_loss(audio, text, torch.tensor([1, 2, 0]), 1 / 0.07)
    assert torch.all(good < bad)
    good.sum().backward()
    assert audio.grad is not None and audio.grad.abs().sum() > 0


def test_semantic_loss_is_the_cross_entropy_over_the_batch_texts():
    text = torch.nn.functional.normalize(torch.randn(3, 16), dim=-1)
    audio = torch.randn(4, 16)
    target = torch.tensor([0, 2, 1, 2])
    logits = 1 / 0.07 * torch.nn.functional.normalize(audio, dim=-1) @ text.T
    expected = torch.nn.functional.cross_entropy(logits, target, reduction="none")
    assert torch.allclose(losses.semantic_loss(audio, text, target, 1 / 0.07), expected, atol=1e-5)
    with pytest.raises(ValueError, match="embedding sizes differ"):
        losses.semantic_loss(audio[:, :8], text, target, 1 / 0.07)


def test_long_term_spectrum_matching_undoes_any_time_invariant_filter_within_its_range():
    part = _mags(2, 3, 8, 6) + 0.1
    reference = part.mean(dim=-1)
    filtered = part * torch.logspace(-1.5, 0, 8)[:, None]          # down to -30 dB
    assert torch.allclose(losses.match_long_term_spectrum(filtered, reference, 40.0), part, rtol=1e-5)
    capped = losses.match_long_term_spectrum(filtered, reference, 20.0)
    assert torch.allclose(capped[..., -1, :], part[..., -1, :], rtol=1e-5)
    assert torch.allclose(capped[..., 0, :], 10 * filtered[..., 0, :])
    changing = part.clone()
    changing[..., :3] = 0.0                                         # silent for half the frames: not a filter
    assert not torch.allclose(losses.match_long_term_spectrum(changing, reference, 40.0), part)


def test_mixit_zero_at_a_perfect_partition_and_order_invariant():
    s = torch.randn(2, 4, 1000)
    mixtures = torch.stack([s[:, 0] + s[:, 2], s[:, 1] + s[:, 3]], dim=1)
    perfect = losses.mixit_loss(s, mixtures)
    shuffled = losses.mixit_loss(s[:, [3, 1, 0, 2]], mixtures)
    torch.testing.assert_close(perfect, shuffled)
    assert torch.all(perfect < -25)
    wrong = losses.mixit_loss(s * 0.3, mixtures)
    assert torch.all(wrong > perfect + 10)


def test_neg_snr_shape_error_names_shapes():
    with pytest.raises(ValueError, match=r"\(2, 5\) and \(2, 6\)"):
        losses.neg_snr(torch.zeros(2, 5), torch.zeros(2, 6))
