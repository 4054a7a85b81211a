"""Stems that add up: several queries' masks are one split of the input, in both engines and the plugin host."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

import soundsift.runtime.dsp
import soundsift.separator
from soundsift.cli import main
from soundsift.core.mask_shares import share_masks
from soundsift.core.store import BUNDLED_DIR
from soundsift.plugin_host import StemChains
from soundsift.runtime import OnnxSeparator
from soundsift.separation import REST, SEGMENT_SECONDS, SeparationOptions
from soundsift.separator import Separator

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "mix.flac"
DEFAULT = BUNDLED_DIR / "default"
OVERLAPPING = ["drums", "piano", "a man speaking", "guitar", "violin", "a woman singing", "rain"]
ENGINES = {"torch": lambda: Separator.load(DEFAULT, "cpu"), "onnx": lambda: OnnxSeparator.load(DEFAULT, "cpu")}
SHARE_HOME = {"torch": soundsift.separator, "onnx": soundsift.runtime.dsp}

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def mix() -> tuple[np.ndarray, int]:
    """The shipped example's first 4 seconds, (channels, samples)."""
    audio, rate = soundfile.read(EXAMPLE, dtype="float32", always_2d=True, frames=4 * 44100)
    return np.ascontiguousarray(audio.T), rate


def _recording(monkeypatch: pytest.MonkeyPatch, engine: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """Record, in the engine, each mask set before and after :func:`share_masks`."""
    seen: list[tuple[np.ndarray, np.ndarray]] = []

    def recorded(masks, axis=0):
        shared = share_masks(masks, axis)
        as_numpy = (lambda m: m.numpy()) if isinstance(masks, torch.Tensor) else np.asarray
        seen.append((as_numpy(masks).copy(), as_numpy(shared).copy()))
        return shared

    monkeypatch.setattr(SHARE_HOME[engine], "share_masks", recorded)
    return seen


def test_shares_sum_to_at_most_one_and_leave_room_untouched():
    masks = np.array([[0.9, 0.2, 0.0], [0.6, 0.3, 0.0], [0.5, 0.1, 0.0]], np.float32)
    shared = share_masks(masks)
    np.testing.assert_allclose(shared.sum(axis=0), [1.0, 0.6, 0.0], rtol=1e-6)
    np.testing.assert_array_equal(shared[:, 1:], masks[:, 1:])
    np.testing.assert_allclose(shared[:, 0], masks[:, 0] / 2.0)
    np.testing.assert_array_equal(share_masks(torch.from_numpy(masks)).numpy(), shared)
    one = np.array([[0.7, 1.0]], np.float32)
    assert share_masks(one) is one


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_seven_overlapping_queries_split_the_input(engine, mix, monkeypatch):
    audio, rate = mix
    seen = _recording(monkeypatch, engine)
    stems = ENGINES[engine]().separate(audio, OVERLAPPING, rate)
    raw = np.concatenate([before.reshape(len(OVERLAPPING), -1) for before, _ in seen], axis=1)
    assert raw.sum(axis=0).max() > 2.0  # the queries overlap: independent masks would take sounds several times
    for _, applied in seen:  # rest's spectrum is (1 - sum of masks) x the input's, bin by bin
        assert applied.min() >= 0.0
        assert applied.sum(axis=0).max() <= 1.0 + 1e-6
    total = sum(stems[q] for q in OVERLAPPING) + stems[REST]
    np.testing.assert_allclose(total, audio, atol=1e-5)
    assert np.abs(stems[REST]).max() <= np.abs(audio).max()
    assert all(np.sum(stems[q] ** 2) <= np.sum(audio**2) for q in OVERLAPPING)


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_one_query_is_unchanged_by_the_rule(engine, mix, monkeypatch):
    audio, rate = mix
    separator = ENGINES[engine]()
    shared = separator.separate(audio, ["violin"], rate)
    monkeypatch.setattr(SHARE_HOME[engine], "share_masks", lambda masks, axis=0: masks)
    independent = separator.separate(audio, ["violin"], rate)
    for name in ["violin", REST]:
        np.testing.assert_array_equal(shared[name], independent[name])


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_remove_mode_and_levels_take_the_same_split(engine, mix):
    audio, rate = mix
    separator = ENGINES[engine]()
    extracted = separator.separate(audio, OVERLAPPING, rate)
    removed = separator.separate(audio, OVERLAPPING, rate, options=SeparationOptions("remove"))
    taken = sum(audio - removed[q] for q in OVERLAPPING)  # what each removal took out, all together
    np.testing.assert_allclose(taken + removed[REST], audio, atol=1e-5)
    np.testing.assert_allclose(removed[REST], extracted[REST], atol=1e-6)
    for q in OVERLAPPING:
        np.testing.assert_allclose(audio - removed[q], extracted[q], atol=1e-5)
    levels = {"drums": -6.0, "rain": 12.0, "violin": -np.inf}
    leveled = separator.separate(audio, OVERLAPPING, rate, options=SeparationOptions(gain_db=levels))
    scale = {q: 10.0 ** (levels.get(q, 0.0) / 20.0) for q in OVERLAPPING}
    for q in OVERLAPPING:
        np.testing.assert_allclose(leveled[q], extracted[q] * np.float32(scale[q]), atol=1e-5)
    np.testing.assert_allclose(leveled[REST], extracted[REST], atol=1e-6)  # levels never move sound into rest


def test_stem_chains_split_seven_queries_the_same_way(mix):
    audio, rate = mix
    stems = {q: [] for q in OVERLAPPING}
    whole = StemChains(stems, model=str(DEFAULT), engine="torch", device="cpu")
    np.testing.assert_allclose(whole(audio, rate), audio, atol=1e-5)
    silent = {q: -np.inf for q in OVERLAPPING}
    rest = StemChains(stems, gain_db=silent, model=str(DEFAULT), engine="torch", device="cpu")(audio, rate)
    assert np.abs(rest).max() <= np.abs(audio).max()
    # a stream does not know where the input ends: the 4 s clip is the start of one 10 s segment
    # with silence after it, so the engine is given that segment (the network's output depends on
    # the segment it sees; the split rule is what must be the same)
    segment = np.pad(audio, ((0, 0), (0, int(SEGMENT_SECONDS * rate) - audio.shape[1])))
    engine_rest = Separator.load(DEFAULT, "cpu").separate(segment, OVERLAPPING, rate)[REST][:, : audio.shape[1]]
    np.testing.assert_allclose(rest, engine_rest, atol=1e-5)
    assert np.abs(rest).max() > 1e-3  # the queries leave something in rest, so the comparison has content


def test_the_files_of_seven_queries_add_up_to_the_input(tmp_path):
    queries = [arg for q in OVERLAPPING for arg in ("-q", q)]
    assert main(["separate", str(EXAMPLE), *queries, "-o", str(tmp_path), "--model", str(DEFAULT),
                 "--bit-depth", "32f", "--quiet"]) == 0
    mix, _ = soundfile.read(EXAMPLE, dtype="float32", always_2d=True)
    files = sorted((tmp_path / "mix").glob("*.wav"))
    assert len(files) == len(OVERLAPPING) + 1
    total = sum(soundfile.read(p, dtype="float32", always_2d=True)[0] for p in files)
    np.testing.assert_allclose(total, mix, atol=1e-5)
    rest = soundfile.read(tmp_path / "mix" / "rest.wav", dtype="float32")[0]
    assert np.abs(rest).max() <= np.abs(mix).max()
