"""The plugin host: TextSeparate as a Pedalboard-shaped effect, chains, mixes and per-stem chains."""
from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest
from pedalboard import Compressor, Gain, Pedalboard, Resample, Reverb

from soundsift.errors import InvalidArgumentError
from soundsift.plugin_host import Chain, Mix, StemChains, TextSeparate, walk
from soundsift.plugin_host.streaming import UNBOUNDED, SegmentStream
from soundsift.separation import SeparationOptions
from tests.conftest import test_signal

SR = 16_000
SEGMENT = 0.25  # seconds: the separator's latency is 4000 samples at 16 kHz


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def signal() -> np.ndarray:
    return test_signal(SR, 2, 1.5, seed=4)


def separate(model, **kwargs) -> TextSeparate:
    return TextSeparate(kwargs.pop("query", "violin"), model=str(model), segment_seconds=SEGMENT, **kwargs)


def stream(processor, audio: np.ndarray, block: int, buffer_size: int = 8192) -> np.ndarray:
    """Feed ``audio`` (channels-first) in blocks with reset=False and join what comes out."""
    processor.reset()
    outs = [processor(audio[:, i : i + block], SR, buffer_size, reset=False) for i in range(0, audio.shape[1], block)]
    return np.concatenate(outs, axis=1)


def test_a_chain_around_text_separate_equals_running_the_parts_by_hand(tiny_model, signal):
    chain = Chain([Gain(6), Compressor(threshold_db=-12, ratio=4), separate(tiny_model), Reverb(room_size=0.7)])
    by_hand = Gain(6)(signal, SR)
    by_hand = Compressor(threshold_db=-12, ratio=4)(by_hand, SR)
    by_hand = separate(tiny_model)(by_hand, SR)
    by_hand = Reverb(room_size=0.7)(by_hand, SR)
    np.testing.assert_array_equal(chain(signal, SR), by_hand)


@pytest.mark.parametrize("block", [64, 512, 4096, 333, 4999])
def test_block_streaming_equals_the_whole_signal_after_the_latency(tiny_model, signal, block):
    text_separate = separate(tiny_model)
    whole = text_separate(signal, SR)
    streamed = stream(text_separate, signal, block)
    latency = text_separate.latency_samples(SR)
    assert latency == 4000
    assert streamed.shape == (2, signal.shape[1] - latency)
    np.testing.assert_array_equal(streamed, whole[:, : streamed.shape[1]])


@pytest.mark.parametrize("block", [64, 512, 4096, 777])
def test_a_mixed_chain_streams_like_the_whole_signal(tiny_model, signal, block):
    chain = Chain([Gain(3), separate(tiny_model, mode="remove"), Reverb(), Compressor(-10, 3)])
    whole = chain(signal, SR)
    streamed = stream(chain, signal, block, buffer_size=512)
    assert signal.shape[1] - streamed.shape[1] < 4000 + 512
    np.testing.assert_array_equal(streamed, whole[:, : streamed.shape[1]])


def test_flushing_with_silence_releases_the_whole_signal(tiny_model, signal):
    text_separate = separate(tiny_model)
    latency = text_separate.latency_samples(SR)
    padded = np.concatenate([signal, np.zeros((2, latency), np.float32)], axis=1)
    np.testing.assert_array_equal(stream(text_separate, padded, 1000), text_separate(signal, SR))


def test_memory_stays_bounded_however_long_the_stream(identity_model):
    text_separate = separate(identity_model)
    block = test_signal(SR, 1, 0.1)
    text_separate.reset()
    for _ in range(60):
        text_separate(block, SR, reset=False)
    held = text_separate._stream
    assert sum(b.shape[1] for b in held._inbox) <= held.latency
    assert sum(inp.shape[1] for inp, _ in held._finished) <= 2 * held.latency


def test_the_identity_model_gives_the_input_back_and_remove_gives_silence(identity_model, signal):
    np.testing.assert_allclose(separate(identity_model)(signal, SR), signal, atol=1e-4)
    np.testing.assert_allclose(separate(identity_model, mode="remove")(signal, SR), 0.0, atol=1e-4)


def test_gain_db_scales_the_output(half_model, signal):
    plain = separate(half_model)(signal, SR)
    np.testing.assert_allclose(separate(half_model, gain_db=-6.0)(signal, SR), plain * 10 ** (-6 / 20), rtol=1e-5)


def test_layouts_and_sample_types_are_those_pedalboard_accepts(tiny_model, signal):
    text_separate = separate(tiny_model)
    first = text_separate(signal, SR)
    last = text_separate(signal.T.astype(np.float64), SR)
    assert last.shape == signal.T.shape and last.dtype == np.float32
    np.testing.assert_allclose(last.T, first, atol=1e-6)
    mono = text_separate(signal[0], SR)
    assert mono.shape == signal[0].shape
    np.testing.assert_allclose(mono, text_separate(signal[:1], SR)[0])


@pytest.mark.parametrize("channels_last", [False, True])
def test_streams_keep_their_layout_through_one_and_two_sample_blocks(tiny_model, signal, channels_last):
    """Once a stream has shown its channel count, (2, 1), (1, 2) and (2, 2) blocks are not ambiguous."""
    text_separate = separate(tiny_model)
    audio = signal.T if channels_last else signal
    axis = 0 if channels_last else 1
    whole = text_separate(audio, SR)
    text_separate.reset()
    cuts = [0, 100, *range(101, 4400), *range(4400, 9000, 2)]
    pieces = [np.take(audio, range(a, b), axis=axis) for a, b in itertools.pairwise(cuts)]
    outs = [text_separate(p, SR, reset=False) for p in pieces]
    streamed = np.concatenate(outs, axis=axis)
    assert all(o.ndim == 2 and o.shape[1 - axis] == 2 for o in outs)
    np.testing.assert_array_equal(streamed, np.take(whole, range(streamed.shape[axis]), axis=axis))


def test_parameters_are_attributes_and_bad_values_are_refused(tiny_model):
    text_separate = separate(tiny_model)
    text_separate.query, text_separate.mode, text_separate.gain_db = "  a dog barking ", "remove", -3
    assert (text_separate.query, text_separate.mode, text_separate.gain_db) == ("a dog barking", "remove", -3.0)
    for name, value in [("query", ""), ("query", "rest"), ("mode", "isolate"), ("gain_db", "loud"),
                        ("engine", "tensorrt"), ("device", "tpu")]:
        with pytest.raises(InvalidArgumentError):
            setattr(text_separate, name, value)
    with pytest.raises(AttributeError):
        text_separate.segment_seconds = 1.0
    with pytest.raises(InvalidArgumentError):
        TextSeparate("violin", segment_seconds=0)


def test_a_query_change_mid_stream_applies_from_the_next_segment(tiny_model, signal):
    text_separate = separate(tiny_model)
    text_separate.reset()
    first = text_separate(signal[:, :8000], SR, reset=False)
    text_separate.query = "a dog barking"
    second = text_separate(signal[:, 8000:], SR, reset=False)
    before = separate(tiny_model)(signal, SR)
    assert first.shape[1] + second.shape[1] == signal.shape[1] - 4000
    np.testing.assert_array_equal(first, before[:, : first.shape[1]])
    assert not np.allclose(second[:, -4000:], before[:, -8000:-4000])


def test_a_stream_refuses_to_change_channels_or_rate_without_a_reset(tiny_model, signal):
    text_separate = separate(tiny_model)
    text_separate(signal[:, :1000], SR, reset=False)
    with pytest.raises(InvalidArgumentError, match="reset"):
        text_separate(signal[:, 1000:2000], 22050, reset=False)
    with pytest.raises(InvalidArgumentError, match="reset"):
        text_separate(signal[:1, 1000:2000], SR, reset=False)
    text_separate.reset()
    text_separate(signal[:1, 1000:2000], 22050, reset=False)


def test_bad_arrays_and_arguments_are_clear_errors(tiny_model):
    text_separate = separate(tiny_model)
    for audio in [np.zeros((2, 2, 100), np.float32), np.zeros((100, 100), np.float32), np.zeros(100, np.int16)]:
        with pytest.raises(InvalidArgumentError):
            text_separate(audio, SR)
    with pytest.raises(InvalidArgumentError, match="sample_rate"):
        text_separate(np.zeros(100, np.float32), 0)
    with pytest.raises(InvalidArgumentError, match="buffer_size"):
        text_separate(np.zeros(100, np.float32), SR, buffer_size=0)
    with pytest.raises(InvalidArgumentError):
        Chain([np.zeros(3)])


def test_a_dry_wet_mix_stays_aligned_to_the_sample(identity_model, signal):
    dry_wet = Mix([[], [separate(identity_model), Gain(-6)]])
    whole = dry_wet(signal, SR)
    np.testing.assert_allclose(whole, signal * (1 + 10 ** (-6 / 20)), atol=1e-4)
    for block in [64, 512, 4096, 999]:
        streamed = stream(dry_wet, signal, block, buffer_size=256)
        assert streamed.shape[1] > signal.shape[1] - 4000 - 256
        np.testing.assert_array_equal(streamed, whole[:, : streamed.shape[1]])


def test_a_mix_aligns_branches_whose_pedalboard_plugins_have_latency(signal):
    impulse = np.zeros((1, 6000), np.float32)
    impulse[0, 2500] = 1.0
    mix = Mix([Gain(0), Resample(8000)])
    whole = mix(impulse, SR)
    streamed = stream(mix, impulse, 100, buffer_size=100)
    assert np.argmax(whole[0]) == np.argmax(streamed[0]) == 2500
    np.testing.assert_allclose(streamed, whole[:, : streamed.shape[1]], atol=1e-6)


def test_an_empty_mix_is_silence_and_an_empty_chain_passes_audio_through(signal):
    np.testing.assert_array_equal(Mix([])(signal, SR), np.zeros_like(signal))
    np.testing.assert_array_equal(Chain([])(signal, SR), signal)


def test_chains_are_lists_and_nest(tiny_model, signal):
    chain = Chain([Gain(2)])
    chain.append([Gain(-2), Mix([Gain(1), [Gain(-1)]])])
    chain.insert(0, Reverb())
    chain.remove(chain[0])
    assert len(chain) == 2 and isinstance(chain[1], Chain) and isinstance(chain[1][1], Mix)
    assert "Gain" in repr(chain)
    flat = Gain(2)(signal, SR)
    flat = Gain(-2)(flat, SR)
    flat = Gain(1)(flat, SR) + Gain(-1)(flat, SR)
    np.testing.assert_allclose(chain(signal, SR), flat, atol=1e-6)
    native = Chain([Pedalboard([Gain(3), Gain(-3)]), separate(tiny_model)])
    assert len(list(walk(native))) == 3


def test_consecutive_pedalboard_plugins_run_as_one_native_board(tiny_model):
    chain = Chain([Gain(1), Reverb(), separate(tiny_model), Compressor(), Gain(2), Gain(3)])
    runs = chain._grouped()
    assert [type(r).__name__ for r in runs] == ["NativeRun", "TextSeparate", "NativeRun"]
    assert isinstance(runs[0].plugin, Pedalboard) and len(runs[2].plugin) == 3


def test_stem_chains_with_empty_chains_give_the_input_back(tiny_model, signal):
    stems = StemChains({"violin": [], "a dog barking": []}, model=str(tiny_model), segment_seconds=SEGMENT)
    np.testing.assert_allclose(stems(signal, SR), signal, atol=1e-5)


def test_stem_chains_process_each_stem_and_remix_with_gains(tiny_model, signal):
    stem_chains = StemChains({"violin": [Reverb()], "a dog barking": Gain(-3)}, rest=[Compressor(-20, 4)],
                             gain_db={"a dog barking": -12, "rest": 2}, model=str(tiny_model), segment_seconds=SEGMENT)
    names = ["violin", "a dog barking", "rest"]
    part = {name: StemChains({"violin": [], "a dog barking": []}, model=str(tiny_model), segment_seconds=SEGMENT,
                             gain_db={other: -np.inf for other in names if other != name})(signal, SR)
            for name in names}
    expected = (Reverb()(part["violin"], SR)
                + Gain(-3)(part["a dog barking"], SR) * 10 ** (-12 / 20)
                + Compressor(-20, 4)(part["rest"], SR) * 10 ** (2 / 20))
    np.testing.assert_allclose(stem_chains(signal, SR), expected, atol=1e-5)
    for block in [64, 4096, 1001]:
        streamed = stream(stem_chains, signal, block, buffer_size=128)
        np.testing.assert_array_equal(streamed, stem_chains(signal, SR)[:, : streamed.shape[1]])


def test_stem_chains_refuse_unknown_gain_names_and_the_rest_as_a_query(tiny_model):
    with pytest.raises(InvalidArgumentError, match="unknown stem"):
        StemChains({"violin": []}, gain_db={"drums": -3}, model=str(tiny_model))
    with pytest.raises(InvalidArgumentError, match="rest"):
        StemChains({"rest": []}, model=str(tiny_model))


def test_segment_stream_needs_an_unbounded_plan():
    with pytest.raises(ValueError, match="UNBOUNDED"):
        SegmentStream(lambda s: s[None], SeparationOptions(segment_seconds=0.1).plan(1000, SR), 1, 1)
    identity = SegmentStream(lambda s: s[None], SeparationOptions(segment_seconds=0.1).plan(UNBOUNDED, SR), 1, 1)
    audio = test_signal(SR, 1, 0.5)
    inp, out = identity.push(audio)
    tail_in, tail_out = identity.flush()
    np.testing.assert_allclose(np.concatenate([out, tail_out], axis=-1)[0], audio, atol=1e-6)
    np.testing.assert_array_equal(np.concatenate([inp, tail_in], axis=1), audio)


BLOCKED_IMPORTS = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"torch", "PyQt6"} or name.startswith(("soundsift.gui", "soundsift.training")):
            raise ImportError(f"layering violation: {name} imported")
        return None
sys.meta_path.insert(0, Block())
import soundsift.plugin_host, soundsift.presets
print("ok")
"""


def test_the_host_and_presets_import_without_torch_qt_or_training():
    """Chains run on the ONNX engine without torch, and never pull in the app or the trainer."""
    result = subprocess.run([sys.executable, "-c", BLOCKED_IMPORTS], check=False, capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
