"""The torch-free pieces both engines share: the numpy front end against torch's, and batched segmenting."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from soundsift.core.chunked import SegmentPlan, chunked, chunked_batches
from soundsift.core.config import STFTConfig
from soundsift.core.segment_resample import resample_segment
from soundsift.model import frontend
from soundsift.runtime import dsp


@pytest.mark.parametrize(("n_fft", "hop", "length"), [(1022, 256, 16000), (2816, 704, 44100 + 17), (30, 7, 999)])
def test_numpy_stft_and_istft_match_torch(n_fft: int, hop: int, length: int) -> None:
    wave = np.random.default_rng(0).standard_normal((2, length)).astype(np.float32)
    spec = dsp.stft(wave, n_fft, hop)
    expected = frontend.stft(torch.from_numpy(wave), n_fft, hop).numpy().transpose(0, 2, 1)
    assert spec.shape == expected.shape and spec.dtype == np.complex64
    assert np.abs(spec - expected).max() <= 1e-6 * np.abs(expected).max()
    back = dsp.istft(spec, n_fft, hop, length)
    expected_back = frontend.istft(torch.from_numpy(np.ascontiguousarray(expected.transpose(0, 2, 1))), n_fft, hop,
                                   length).numpy()
    assert back.shape == (2, length) and back.dtype == np.float32
    assert np.abs(back - expected_back).max() <= 1e-5
    assert np.abs(back - wave).max() <= 1e-5


@pytest.mark.parametrize("sample_rate", [8000, 16000, 22050, 44100, 48000, 96000])
def test_numpy_mask_projection_matches_torch(sample_rate: int) -> None:
    cfg = STFTConfig()
    masks = np.random.default_rng(1).random((3, cfg.n_bins, 40), dtype=np.float32)
    numpy_projector, torch_projector = dsp.GridProjector(cfg, sample_rate), frontend.MaskProjector(cfg, sample_rate)
    assert (numpy_projector.n_fft, numpy_projector.hop_length) == (torch_projector.n_fft, torch_projector.hop_length)
    for frames in (17, 40, 55):
        got = numpy_projector.project(masks, frames)
        expected = torch_projector.project(torch.from_numpy(masks), frames).numpy().transpose(0, 2, 1)
        assert got.shape == expected.shape == (3, frames, numpy_projector.n_fft // 2 + 1)
        assert np.abs(got - expected).max() <= 1e-6



@pytest.mark.parametrize("sample_rate", [8000, 16000, 44100])
def test_mask_bands_apply_the_projected_mask(sample_rate: int) -> None:
    cfg, rng = STFTConfig(), np.random.default_rng(2)
    projector = dsp.GridProjector(cfg, sample_rate)
    masks = rng.random((2, cfg.n_bins, 30), dtype=np.float32)
    spec = dsp.stft(rng.standard_normal((2, sample_rate)).astype(np.float32), projector.n_fft, projector.hop_length)
    dense = projector.project(masks, spec.shape[1])
    bands = projector.bands(masks, spec.shape[1])
    for q in range(2):
        assert np.array_equal(bands.apply(spec, q), spec * dense[q])

def _stream(audio: np.ndarray, block: int) -> list[np.ndarray]:
    return [audio[:, i : i + block] for i in range(0, audio.shape[1], block)]


@pytest.mark.parametrize("batch", [1, 2, 5])
def test_batched_segments_give_what_single_segments_give(batch: int) -> None:
    audio = np.random.default_rng(2).standard_normal((2, 1000)).astype(np.float32)
    plan = SegmentPlan(1000, 128, 40)

    def fn(segment: np.ndarray) -> np.ndarray:
        return np.stack([segment * 0.5, np.tanh(segment) + segment.mean()])

    calls: list[int] = []

    def batch_fn(segments: list[np.ndarray]) -> list[np.ndarray]:
        calls.append(len(segments))
        return [fn(s) for s in segments]

    single = list(chunked(_stream(audio, 300), plan, 2, fn))
    batched = list(chunked_batches(_stream(audio, 300), plan, 2, batch_fn, batch))
    assert sum(calls) == plan.count and max(calls) == min(batch, plan.count)
    assert [i.shape for i, _ in batched] == [i.shape for i, _ in single]
    for (inp, out), (inp1, out1) in zip(batched, single):
        np.testing.assert_array_equal(inp, inp1)
        np.testing.assert_allclose(out, out1, atol=1e-6)
    identity = np.concatenate([o[0] for _, o in chunked_batches(_stream(audio, 77), plan, 2,
                                                                  lambda s: [x[None] for x in s], batch)], axis=1)
    np.testing.assert_allclose(identity, audio, atol=1e-6)


@pytest.mark.parametrize("sample_rate", [8000, 11025, 22050, 44100, 48000, 96000, 44056])
def test_segment_resampling_keeps_length_alignment_and_tone(sample_rate: int) -> None:
    t = np.arange(2 * sample_rate) / sample_rate
    tone = np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    out = resample_segment(tone, sample_rate, 16000)
    assert out.shape == (32000,) and out.dtype == np.float32
    expected = np.sin(2 * np.pi * 1000 * np.arange(out.size) / 16000)
    assert np.abs(out - expected)[160:-160].max() < 5e-3
    for length in (1, 2, 5, 1001):
        assert resample_segment(tone[:length], sample_rate, 16000).shape == (max(1, round(length * 16000 / sample_rate)),)
    assert resample_segment(tone, 16000, 16000) is tone
