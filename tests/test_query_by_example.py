"""Query by example: audio queries through the API, the command line and the plugin host."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from soundsift.cli import main
from soundsift.core import EncoderSpec, ModelConfig
from soundsift.engines import load_separator
from soundsift.errors import AudioError, InvalidArgumentError, PresetError, SoundsiftError
from soundsift.model import init_model, save_checkpoint
from soundsift.model.audio_query import embed_audio_query, embed_clip, unit
from soundsift.model.encoders import EncoderError
from soundsift.plugin_host import TextSeparate
from soundsift.queries import AudioExample, AudioQuery, parse_audio_query, windows
from soundsift.separator import Separator
from tests.conftest import TINY, test_signal, write_test_file

SR = 16_000


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def clap_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny separator on the compact CLAP encoder (which has an audio tower)."""
    net, enc = init_model(ModelConfig(network=TINY, encoder=EncoderSpec(name="compact")), seed=1)
    return save_checkpoint(tmp_path_factory.mktemp("m") / "clap-tiny", net, enc)


@pytest.fixture(scope="module")
def sep(clap_model: Path) -> Separator:
    return Separator.load(clap_model, device="cpu")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("audio")
    return {
        "mix": write_test_file(d / "mix.wav", test_signal(22050, 2, 2.0, seed=1), 22050, "FLOAT"),
        "ref": write_test_file(d / "ref.wav", test_signal(SR, 1, 9.0, seed=2), SR, "FLOAT"),
        "other": write_test_file(d / "other.wav", test_signal(SR, 1, 2.0, seed=7), SR, "FLOAT"),
        "silent": write_test_file(d / "silent.wav", np.zeros((1, SR), np.float32), SR, "PCM_16"),
        "short": write_test_file(d / "short.wav", test_signal(SR, 1, 0.3, seed=3), SR, "PCM_16"),
    }


def embedding(sep: Separator, query: AudioQuery) -> torch.Tensor:
    return sep.encode_queries([query]).embedding[0]


def test_audio_query_through_the_api(sep, files):
    mix, _ = soundfile.read(files["mix"], dtype="float32", always_2d=True)
    query = AudioQuery(files["ref"])
    stems = sep.separate(files["mix"], ["violin", query])
    assert list(stems) == ["violin", "like ref", "rest"]
    assert query.name == "like ref"
    total = stems["violin"] + stems["like ref"] + stems["rest"]
    np.testing.assert_allclose(total, mix.T, atol=1e-5)
    assert not np.allclose(stems["violin"], stems["like ref"], atol=1e-4)  # the audio query conditions differently


def test_file_range_and_array_examples_agree(sep, files):
    ref, _ = soundfile.read(files["ref"], dtype="float32")
    from_file = embedding(sep, AudioQuery(AudioExample(files["ref"], start=1.0, end=3.5)))
    from_array = embedding(sep, AudioQuery((ref[SR : int(3.5 * SR)], SR)))
    torch.testing.assert_close(from_file, from_array, atol=1e-5, rtol=0)
    assert AudioQuery(AudioExample(files["ref"], start=1.0, end=3.5)).name == "like ref 1-3.5s"


def test_windows_and_examples_are_averaged(sep, files):
    ref, _ = soundfile.read(files["ref"], dtype="float32")
    parts = windows(ref, SR)
    assert [len(p) for p in parts] == [4 * SR, 4 * SR, SR]
    quiet_start = np.concatenate([np.zeros(4 * SR, np.float32), ref[: int(4.3 * SR)]])
    assert [len(p) for p in windows(quiet_start, SR)] == [int(4.3 * SR)]  # silence skipped; a short tail joins
    with torch.inference_mode():
        each = torch.cat([sep.encoder.encode_audio(torch.from_numpy(p)[None], SR) for p in parts])
    torch.testing.assert_close(embed_clip(sep.encoder, ref, SR), unit(unit(each).mean(0)))
    other, _ = soundfile.read(files["other"], dtype="float32")
    both = embedding(sep, AudioQuery([files["ref"], (other, SR)]))
    expected = unit(embed_clip(sep.encoder, ref, SR) + embed_clip(sep.encoder, other, SR))
    torch.testing.assert_close(both, expected, atol=1e-6, rtol=0)


def test_text_and_audio_combination_is_the_documented_blend_and_deterministic(sep, files):
    audio = embedding(sep, AudioQuery(files["ref"]))
    with torch.inference_mode():
        text = sep.encoder.encode_text(["flute"])[0]
    for weight in (0.0, 0.3, 1.0):
        query = AudioQuery(files["ref"], text="flute", text_weight=weight)
        first = embed_audio_query(sep.encoder, query, SR)
        again = embed_audio_query(sep.encoder, AudioQuery(files["ref"], text="flute", text_weight=weight), SR)
        assert torch.equal(first, again)
        torch.testing.assert_close(first, unit((1 - weight) * audio + weight * text), atol=1e-6, rtol=0)
    assert AudioQuery(files["ref"], text="flute").name == "like ref + flute"
    with pytest.raises(InvalidArgumentError, match="text_weight"):
        AudioQuery(files["ref"], text="flute", text_weight=1.5)


@pytest.mark.parametrize("which,start,end,problem", [
    ("silent", None, None, "silent"),
    ("short", None, None, "0.30 s long"),
    ("ref", 8.8, None, "0.20 s long"),
    ("ref", 10.0, 12.0, "starts at 10 s"),
    ("ref", 1.0, 12.0, "ends at 12 s"),
])
def test_unusable_examples_are_clear_errors_naming_the_file(sep, files, which, start, end, problem):
    with pytest.raises(AudioError, match=problem) as err:
        sep.separate(files["mix"], [AudioQuery(AudioExample(files[which], start=start, end=end))])
    assert err.value.source == str(files[which])


def test_silent_array_and_bad_arguments(sep):
    with pytest.raises(AudioError, match="<array>: the example is silent"):
        embedding(sep, AudioQuery((np.full(SR, 1e-5, np.float32), SR)))
    with pytest.raises(InvalidArgumentError, match="sample_rate"):
        AudioExample(np.zeros(SR, np.float32))
    with pytest.raises(AudioError, match="empty"):
        AudioExample("x.wav", start=2.0, end=1.0)
    with pytest.raises(InvalidArgumentError, match="distinct"):
        sep.separate(np.zeros((1, SR), np.float32), [AudioQuery("a.wav", name="x"), "x"], SR)


def test_models_without_an_audio_tower_and_the_onnx_engine_say_so(tiny_model, files):
    ngram = Separator.load(tiny_model, device="cpu")
    with pytest.raises(EncoderError, match="no audio tower"):
        ngram.separate(files["mix"], [AudioQuery(files["ref"])])
    with pytest.raises(InvalidArgumentError, match="ONNX engine has no audio tower"):
        load_separator(tiny_model, engine="onnx", audio_queries=True)
    assert isinstance(load_separator(tiny_model, engine="auto", audio_queries=True), Separator)


def test_command_line_specs(files, tmp_path):
    query = parse_audio_query(f"{files['ref']}:1-2.5,{files['other']}=a flute", text_weight=0.25)
    assert [(e.source, e.start, e.end) for e in query.examples] == [(files["ref"], 1.0, 2.5),
                                                                    (files["other"], None, None)]
    assert query.text == "a flute" and query.text_weight == 0.25
    assert query.name == "like ref 1-2.5s and 1 more + a flute"
    odd = write_test_file(tmp_path / "take:2-3.wav", test_signal(SR, 1, 1.0), SR, "PCM_16")
    assert parse_audio_query(str(odd)).examples[0].source == odd  # an existing file is taken whole
    assert parse_audio_query(f"{files['ref']}:2-").examples[0].end is None
    with pytest.raises(AudioError, match="no such file"):
        parse_audio_query(str(tmp_path / "missing.wav"))


def test_cli_query_audio(clap_model, files, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["separate", str(files["mix"]), "-q", "violin", "--query-audio", f"{files['ref']}:0-4",
                 "--query-audio", f"{files['other']}=flute", "--model", str(clap_model), "-o", str(out), "--quiet"])
    assert code == 0
    assert sorted(p.name for p in (out / "mix").glob("*.wav")) == [
        "like-other-flute.wav", "like-ref-0-4s.wav", "rest.wav", "violin.wav"]
    audio, rate = soundfile.read(out / "mix" / "like-ref-0-4s.wav", always_2d=True)
    assert rate == 22050 and audio.shape == (44100, 2)
    sep = Separator.load(clap_model, device="cpu")
    queries = ["violin", parse_audio_query(f"{files['ref']}:0-4"), parse_audio_query(f"{files['other']}=flute")]
    direct = sep.separate(files["mix"], queries)  # the same three queries: they share the mix between them
    np.testing.assert_allclose(audio.T, direct["like ref 0-4s"], atol=1e-4)  # 24-bit file vs float


def test_cli_bad_examples_stop_before_anything_is_written(clap_model, files, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["separate", str(files["mix"]), "--query-audio", str(files["silent"]), "--model", str(clap_model),
                 "-o", str(out)]) == 1
    assert f"{files['silent']}: the example is silent" in capsys.readouterr().err
    assert main(["separate", str(files["mix"]), "--query-audio", f"{files['ref']}:0-0.2", "--model",
                 str(clap_model), "-o", str(out)]) == 1
    assert "0.20 s long" in capsys.readouterr().err
    assert not out.exists()
    with pytest.raises(SystemExit) as exit_:
        main(["separate", str(files["mix"]), "--model", str(clap_model)])
    assert exit_.value.code == 2


def test_text_separate_accepts_an_audio_query(clap_model, files, monkeypatch):
    signal = test_signal(SR, 2, 1.5, seed=4)
    query = AudioQuery(files["ref"])
    stage = TextSeparate(query, model=str(clap_model), segment_seconds=0.25)
    assert stage.query is query
    whole = stage(signal, SR)
    assert whole.shape == signal.shape and np.isfinite(whole).all()
    text = TextSeparate("violin", model=str(clap_model), segment_seconds=0.25)(signal, SR)
    assert not np.allclose(whole, text, atol=1e-4)
    import soundsift.model.audio_query as aq

    calls = []
    real = aq.embed_audio_query
    monkeypatch.setattr(aq, "embed_audio_query", lambda *a: calls.append(1) or real(*a))
    stage.query = AudioQuery(files["ref"])  # a new query object: embedded once, however many segments stream
    stage.reset()
    blocks = [stage(signal[:, i : i + 1000], SR, reset=False) for i in range(0, signal.shape[1], 1000)]
    assert len(calls) == 1 and sum(b.shape[1] for b in blocks) == signal.shape[1] - stage.latency_samples(SR)
    from soundsift.presets.chains import to_dict

    with pytest.raises(PresetError, match="audio query"):
        to_dict(stage)
    with pytest.raises(SoundsiftError):
        TextSeparate(AudioQuery(files["silent"]), model=str(clap_model), segment_seconds=0.25)(signal, SR)
