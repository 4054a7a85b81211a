"""Source augmentation for separator training: speed and equaliser changes, recipe keys, batches."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from soundsift.training.batches import BatchSource
from soundsift.training.recipe import DataRecipe, RecipeError, parse_recipe
from soundsift.training.source_augment import SourceAugmentation, augment_part, change_speed, random_equaliser
from tests.train_corpus import make_corpus

RATE = 16000


def _peak_hz(audio: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return float(np.argmax(spectrum)) * RATE / len(audio)


def test_change_speed_scales_pitch_and_keeps_length():
    tone = np.sin(2 * np.pi * 440 * np.arange(RATE) / RATE)
    assert np.allclose(change_speed(tone, 1.0), tone)
    faster = change_speed(tone, 1.1)
    slower = change_speed(tone, 0.9)
    assert faster.shape == slower.shape == tone.shape
    assert _peak_hz(faster[: int(RATE / 1.1)]) == pytest.approx(484, abs=3)
    assert _peak_hz(slower) == pytest.approx(396, abs=3)
    assert not faster[int(RATE / 1.1) + 1 :].any()  # played faster, the clip ends early: zeros after


def test_equaliser_is_smooth_and_bounded():
    rng = np.random.default_rng(0)
    for _ in range(20):
        gain_db = 20 * np.log10(random_equaliser(513, 6.0, rng))
        assert np.abs(gain_db).max() <= 6.0 + 1e-9
        assert np.abs(np.diff(gain_db)).max() < 1.0  # no sharp notches
    assert np.allclose(random_equaliser(513, 0.0, rng), 1.0)


def test_augment_part_equalises_only_the_spectrum_and_is_seeded():
    audio = np.random.default_rng(1).standard_normal(RATE).astype(np.float32)
    aug = SourceAugmentation(eq_db=6.0)
    out = augment_part(audio, aug, np.random.default_rng(2))
    assert out.dtype == np.float32 and out.shape == audio.shape
    assert np.array_equal(out, augment_part(audio, aug, np.random.default_rng(2)))
    ratio_db = 20 * np.log10(np.abs(np.fft.rfft(out)) / np.abs(np.fft.rfft(audio)))
    assert 0.5 < np.abs(ratio_db).max() <= 6.0 + 1e-3
    assert not np.allclose(out, augment_part(audio, aug, np.random.default_rng(3)))


def test_ranges_are_checked_in_recipes(tmp_path):
    with pytest.raises(ValueError, match="augment_speed"):
        SourceAugmentation(speed=0.6)
    data = parse_recipe({"regime": "supervised", "data": {"corpora": ["c"], "augment_speed": 0.05,
                                                            "augment_eq_db": 6}}, base=tmp_path).data
    assert data.augmentation == SourceAugmentation(0.05, 6.0) and data.augmentation.active
    assert not DataRecipe(corpora=("c",)).augmentation.active
    for bad in ({"augment_speed": -0.1}, {"augment_eq_db": 40}):
        with pytest.raises(RecipeError, match="recipe.data.*augment"):
            parse_recipe({"regime": "supervised", "data": {"corpora": ["c"], **bad}})
    with pytest.raises(RecipeError, match="recipe.data.*query_noise"):
        parse_recipe({"regime": "supervised", "data": {"corpora": ["c"], "query_noise": -0.5}})
    for bad in (-0.1, 1.0):
        with pytest.raises(RecipeError, match="recipe.data.*query_blend"):
            parse_recipe({"regime": "supervised", "data": {"corpora": ["c"], "query_blend": bad}})


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_corpus(tmp_path_factory.mktemp("augment") / "corpus", clips_per_class=3)


def test_batches_are_augmented_per_part_and_repeatable(corpus):
    plain = DataRecipe(corpora=(str(corpus),), seconds=0.5)
    augmented = dataclasses.replace(plain, augment_speed=0.05, augment_eq_db=6.0)
    base = BatchSource(plain, RATE, 4).next(np.random.default_rng(0))
    first = BatchSource(augmented, RATE, 4).next(np.random.default_rng(0))
    again = BatchSource(augmented, RATE, 4).next(np.random.default_rng(0))
    assert first.parts.shape == base.parts.shape
    assert np.array_equal(first.parts.numpy(), again.parts.numpy())
    assert not np.allclose(first.parts.numpy(), base.parts.numpy())
    assert first.captions == again.captions


def test_query_noise_seeds_each_batch_and_draws_nothing_when_off(corpus):
    plain = DataRecipe(corpora=(str(corpus),), seconds=0.5)
    noisy = dataclasses.replace(plain, query_noise=0.5)
    rng = np.random.default_rng(0)
    first, second = (BatchSource(noisy, RATE, 2).next(rng) for _ in range(2))
    assert first.query_noise == 0.5 and first.noise_seed != second.noise_seed
    base = BatchSource(plain, RATE, 2).next(np.random.default_rng(0))
    assert base.query_noise == 0.0 and np.array_equal(base.parts.numpy(), first.parts.numpy())
    assert first.select(torch.tensor([False, True])).noise_seed == first.noise_seed
    blended = BatchSource(dataclasses.replace(plain, query_blend=0.7), RATE, 2).next(np.random.default_rng(0))
    assert blended.query_blend == 0.7 and blended.query_noise == 0.0 and blended.noise_seed != 0
