"""The conditional U-Net, the encoder, the mask projection and the chunked engine."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from soundsift.core import ModelConfig, NetworkConfig, SegmentPlan, chunked
from soundsift.core.config import EncoderSpec, STFTConfig
from soundsift.model import init_model
from soundsift.model.encoders import build_encoder
from soundsift.model.frontend import MaskProjector, istft, native_stft_size, stft
from soundsift.model.unet import Query
from tests.conftest import TINY


def _net(**overrides):
    cfg = ModelConfig(network=NetworkConfig(**{**TINY.__dict__, **overrides}))
    return init_model(cfg, seed=0)


@pytest.mark.parametrize("batch,queries", [(1, 1), (2, 3)])
@pytest.mark.parametrize("frames", [40, 63])
@pytest.mark.parametrize("variant", [{}, {"film_encoder": True}, {"cross_attention": True}, {"late_fusion": True}])
def test_mask_shapes(batch, queries, frames, variant):
    net, enc = _net(**variant)
    mag = torch.rand(batch, 512, frames)
    texts = [f"query {i}" for i in range(queries)]
    tokens, padding = enc.token_states(texts)
    logits = net.mask_logits(mag, Query(enc.encode_text(texts), tokens, padding))
    assert logits.shape == (batch, queries, 512, frames)


def test_queries_change_the_mask_and_batching_matches_single_runs():
    net, enc = _net(cross_attention=True)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    wave = torch.randn(2, 16000)
    texts = ["violin", "a dog barking", "rain on a roof"]
    tokens, padding = enc.token_states(texts)
    both = net.masks(wave, Query(enc.encode_text(texts), tokens, padding))
    assert (both[:, 0] - both[:, 1]).abs().max() > 1e-3
    for i, text in enumerate(texts):
        t, p = enc.token_states([text])
        alone = net.masks(wave, Query(enc.encode_text([text]), t, p))
        torch.testing.assert_close(alone[:, 0], both[:, i], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("variant", [{}, {"film_encoder": True}, {"cross_attention": True}, {"late_fusion": True}])
def test_per_item_queries_match_shared_queries(variant):
    net, enc = _net(**variant)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    mag = torch.rand(2, 512, 24)
    texts = [["violin", "flute"], ["rain", "a dog barks"]]
    flat = [t for item in texts for t in item]
    tokens, padding = enc.token_states(flat)
    per_item = Query(enc.encode_text(flat).reshape(2, 2, -1), tokens.reshape(2, 2, *tokens.shape[1:]),
                     padding.reshape(2, 2, -1))
    out = net.mask_logits(mag, per_item)
    for i, item in enumerate(texts):
        t, p = enc.token_states(item)
        alone = net.mask_logits(mag[i : i + 1], Query(enc.encode_text(item), t, p))
        torch.testing.assert_close(out[i], alone[0], atol=1e-5, rtol=1e-4)
    with pytest.raises(ValueError, match="per-item queries"):
        net.mask_logits(mag[:1], per_item)


def test_shared_encoder_flag():
    assert _net()[0].net.shares_encoder
    assert not _net(film_encoder=True)[0].net.shares_encoder


def test_late_fusion_keeps_the_query_path_off_the_full_resolution_grid():
    net, _ = _net(late_fusion=True, depth=3)
    encoded = net.net.encode(torch.rand(1, 1, 512, 40))
    assert encoded.maps is not None and encoded.maps.shape[-2:] == (512, 40)
    assert [s.shape[-2] for s in encoded.skips] == [256, 128]
    with pytest.raises(ValueError, match="late_fusion needs depth"):
        _net(late_fusion=True, depth=1)


def test_seeded_init_is_deterministic():
    a, _ = _net()
    b, _ = _net()
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)


def test_ngram_encoder_unit_vectors_and_determinism():
    enc = build_encoder(EncoderSpec(name="ngram", options={"dim": 64}))
    emb = enc.encode_text(["violin", "the sound of a violin", "flute"])
    torch.testing.assert_close(emb.norm(dim=-1), torch.ones(3))
    assert torch.allclose(emb[0], emb[1])
    assert (emb[0] @ emb[2]).abs() < 0.9
    assert enc.fingerprint() == build_encoder(EncoderSpec(name="ngram", options={"dim": 64})).fingerprint()
    states, padding = enc.token_states(["a dog", "rain falling on a roof"])
    assert states.shape[:2] == padding.shape and padding[0].sum() > 0


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 96000])
def test_native_stft_reconstructs_exactly(rate):
    n_fft, hop = native_stft_size(STFTConfig(), rate)
    x = torch.randn(2, rate // 3)
    y = istft(stft(x, n_fft, hop), n_fft, hop, x.shape[-1])
    torch.testing.assert_close(y, x, atol=1e-5, rtol=0)


def test_mask_projection_constant_and_above_nyquist():
    proj = MaskProjector(STFTConfig(), 44100)
    constant = torch.full((1, 512, 20), 0.3)
    out = proj.project(constant, 30)
    torch.testing.assert_close(out, torch.full_like(out, 0.3))
    ramp = torch.linspace(0, 1, 512)[None, :, None].expand(1, 512, 10)
    out = proj.project(ramp, 10)
    freqs = torch.arange(out.shape[1]) * 44100 / proj.n_fft
    low = out[0, freqs <= 8000, 0]
    assert torch.all(low[1:] >= low[:-1] - 1e-6)
    high = out[0, freqs > 8000, 0]
    torch.testing.assert_close(high, torch.full_like(high, float(ramp[0, 256:, 0].mean())), atol=2e-3, rtol=0)


@pytest.mark.parametrize("total,segment,overlap", [(1000, 1000, 0), (1000, 300, 100), (997, 256, 64), (50, 300, 100),
                                                   (10_000, 999, 499), (301, 300, 100)])
def test_segment_weights_sum_to_one(total, segment, overlap):
    plan = SegmentPlan(total, segment, overlap)
    acc = np.zeros(total)
    for k in range(plan.count):
        a, b = plan.bounds(k)
        acc[a:b] += plan.weights(k)
    np.testing.assert_allclose(acc, 1.0, atol=1e-6)
    assert plan.bounds(plan.count - 1)[1] == total


@pytest.mark.parametrize("segment,overlap", [(0, 0), (100, 51), (100, -1)])
def test_segment_plan_rejects_bad_layouts(segment, overlap):
    with pytest.raises(ValueError):
        SegmentPlan(1000, segment, overlap)


@pytest.mark.parametrize("block", [7, 256, 5000])
def test_chunked_identity_returns_input_in_order(block):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4321)).astype(np.float32)
    blocks = (x[:, i : i + block] for i in range(0, x.shape[1], block))
    plan = SegmentPlan(x.shape[1], 1000, 250)
    regions = list(chunked(blocks, plan, 2, lambda seg: seg[None].copy()))
    inp = np.concatenate([r[0] for r in regions], axis=1)
    out = np.concatenate([r[1] for r in regions], axis=-1)
    np.testing.assert_array_equal(inp, x)
    np.testing.assert_allclose(out[0], x, atol=1e-6)


def test_chunked_reports_progress_and_cancels():
    from soundsift.errors import SeparationCancelled

    x = np.zeros((1, 5000), np.float32)
    seen = []
    plan = SegmentPlan(5000, 1000, 200)
    list(chunked([x], plan, 1, lambda s: s[None], progress=lambda d, t: seen.append((d, t))))
    assert seen[-1] == (5000, 5000) and len(seen) == plan.count
    calls = iter([False, False, True])
    with pytest.raises(SeparationCancelled):
        list(chunked([x], plan, 1, lambda s: s[None], cancel=lambda: next(calls)))


def test_stft_works_for_training_after_inference_calls():
    x = torch.randn(1, 4000)
    with torch.inference_mode():
        stft(x, 510, 128)
    y = x.clone().requires_grad_()
    stft(y, 510, 128).abs().sum().backward()
    assert y.grad is not None
