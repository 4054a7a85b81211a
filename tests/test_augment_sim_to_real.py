"""Simulated recording chains (sim-to-real augmentation): seeded, length-keeping, each stage doing what it says."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from soundsift.training.batches import BatchSource
from soundsift.training.recipe import DataRecipe, RecipeError, parse_recipe
from soundsift.training.sim_to_real import (
    CODECS,
    ChainRanges,
    codec_round_trip,
    reverberate,
    room_response,
    simulate_chain,
)
from tests.train_corpus import make_corpus

RATE = 16000
ALWAYS = ChainRanges(stage=1.0)


def _signal(seconds: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(7)
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * 330 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)) + 0.02 * rng.standard_normal(len(t)))


def test_chain_is_seeded_and_keeps_shape():
    audio = _signal()
    first = simulate_chain(audio, RATE, np.random.default_rng(1), ALWAYS)
    assert first.shape == audio.shape and first.dtype == np.float32 and np.isfinite(first).all()
    assert np.array_equal(first, simulate_chain(audio, RATE, np.random.default_rng(1), ALWAYS))
    assert not np.allclose(first, simulate_chain(audio, RATE, np.random.default_rng(2), ALWAYS))
    assert not np.allclose(first, audio, atol=1e-3)


def test_chain_with_no_stage_leaves_the_part_and_silence_stays_silent():
    audio = _signal()
    assert np.allclose(simulate_chain(audio, RATE, np.random.default_rng(0), ChainRanges(stage=0.0)), audio, atol=1e-7)
    assert not simulate_chain(np.zeros(RATE), RATE, np.random.default_rng(0), ALWAYS).any()


def test_room_response_starts_with_the_direct_sound_and_decays():
    response = room_response(RATE, np.random.default_rng(3))
    assert response[0] == pytest.approx(1.0, abs=0.5) and np.abs(response[1:]).max() < 1.0
    quarter = len(response) // 4
    assert np.sum(response[quarter:2 * quarter] ** 2) > np.sum(response[-quarter:] ** 2)
    impulse = np.zeros(RATE)
    impulse[100] = 1.0
    assert np.allclose(reverberate(impulse, response)[100:100 + len(response)], response[: RATE - 100])


@pytest.mark.parametrize("codec", CODECS)
def test_codec_round_trips_keep_length_and_the_signal(codec):
    audio = _signal()
    out = codec_round_trip(audio, RATE, codec, np.random.default_rng(0))
    assert out.shape == audio.shape
    assert np.corrcoef(audio, out)[0, 1] > 0.8  # lossy, aligned, not replaced
    assert not np.allclose(out, audio, atol=1e-4)


def test_recipe_option_is_checked(tmp_path):
    data = parse_recipe({"regime": "supervised", "data": {"corpora": ["c"], "sim_to_real": 0.5}}, base=tmp_path).data
    assert data.sim_to_real == 0.5
    for bad in (-0.1, 1.5):
        with pytest.raises(RecipeError, match="recipe.data.*sim_to_real"):
            parse_recipe({"regime": "supervised", "data": {"corpora": ["c"], "sim_to_real": bad}})


def test_batches_with_sim_to_real_are_repeatable_and_changed(tmp_path: Path):
    corpus = make_corpus(tmp_path / "corpus", clips_per_class=3)
    plain = DataRecipe(corpora=(str(corpus),), seconds=0.5)
    chained = dataclasses.replace(plain, sim_to_real=1.0)
    base = BatchSource(plain, RATE, 4).next(np.random.default_rng(0))
    first = BatchSource(chained, RATE, 4).next(np.random.default_rng(0))
    again = BatchSource(chained, RATE, 4).next(np.random.default_rng(0))
    assert first.parts.shape == base.parts.shape
    assert np.array_equal(first.parts.numpy(), again.parts.numpy())
    assert not np.allclose(first.parts.numpy(), base.parts.numpy())
