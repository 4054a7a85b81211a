"""The real-recording recipes on small stand-in package trees the tests make (nothing is downloaded):
byte-identical with 1 and 2 workers, no voice or track in two splits, held-out packages only in test."""
from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile

from research.data.musicbeds import MusicBedSettings, TrackRow, build_musicbeds
from research.data.realspeech import RealSpeechSettings, build_realspeech
from research.data.realspeech_pitch import check_corpus as pitch_check
from research.data.realspeech_table import Voice
from research.data.realtest import RealTestSettings, build_realtest
from soundsift.training.data.manifest import read_manifest
from tests.test_data_helpers import assert_groups_disjoint, check_corpus, corpus_hashes

RATE = 22050


def _voice_line(f0: float, seconds: float, seed: int) -> np.ndarray:
    """A voiced stand-in: a harmonic tone with a little vibrato, amplitude-modulated like syllables."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.03 * np.sin(2 * np.pi * 5 * t))) / RATE
    tone = sum(np.sin(k * phase) / k for k in range(1, 6))
    syllables = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(3, 5) * t)
    return (0.2 * tone * syllables).astype(np.float32)


def _ogg(audio: np.ndarray) -> bytes:
    out = io.BytesIO()
    soundfile.write(out, audio, RATE, format="OGG", subtype="VORBIS")
    return out.getvalue()


def _speech_trees(root: Path) -> dict[str, Path]:
    """Two packages: pkg-a with two plain-file voices and a zipped voice, pkg-b (to hold out) with one."""
    a, b = root / "pkg-a", root / "pkg-b"
    for i in range(5):
        for voice, f0 in (("man", 115.0), ("woman", 230.0)):
            path = a / "usr/share/game/voices" / voice / f"line{i}.ogg"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(_ogg(_voice_line(f0 + 3 * i, 1.2 + 0.7 * i, i)))
        path = b / "usr/share/other" / f"l{i}.ogg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_ogg(_voice_line(125.0, 1.5 + i, 10 + i)))
    with zipfile.ZipFile(a / "usr/share/game/data.zip", "w") as z:
        for i in range(4):
            z.writestr(f"audio/voice/deep_{i}.ogg", _ogg(_voice_line(95.0, 2.0 + 1.5 * i, 20 + i)))
        z.writestr("audio/voice/readme.txt", "not audio")
    return {"pkg-a": a, "pkg-b": b}


VOICES = (
    Voice("a-man", "pkg-a", "usr/share/game/voices/man/*.ogg", "man speaking", "English", "GPL-2+", "pitch"),
    Voice("a-woman", "pkg-a", "usr/share/game/voices/woman/*.ogg", "woman speaking", "Czech", "GPL-2+", "pitch"),
    Voice("a-deep", "pkg-a", "usr/share/game/data.zip!audio/voice/deep_*.ogg", "man speaking", "Latin", "CC-BY-SA-3.0",
          "file names"),
    Voice("b-man", "pkg-b", "usr/share/other/*.ogg", "man speaking", "Dutch", "GPL-2", "role"),
)


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path], RealSpeechSettings]:
    root = tmp_path_factory.mktemp("speech")
    trees = _speech_trees(root / "trees")
    settings = RealSpeechSettings(seed=3, heldout=("pkg-b",), val=0.0, test=0.3)
    build_realspeech(root / "one", settings, 1, False, trees, VOICES)
    return root, trees, settings


def test_real_speech_is_deterministic_and_split_by_voice(speech) -> None:
    root, trees, settings = speech
    entries = check_corpus(root / "one")
    build_realspeech(root / "two", settings, 2, False, trees, VOICES)
    assert corpus_hashes(root / "one") == corpus_hashes(root / "two")
    assert_groups_disjoint(entries)
    assert {e.group for e in entries} == {v.voice for v in VOICES}
    assert {e.split for e in entries if e.source == "pkg-b"} == {"test"}
    assert "train" in {e.split for e in entries}
    deep = [e for e in entries if e.group == "a-deep"]
    assert deep and all(o.startswith("pkg-a:usr/share/game/data.zip!audio/voice/deep_") for e in deep for o in e.origin)
    for e in entries:
        assert e.labels[1] == "speech" and e.labels[2] == e.meta["language"].lower() and e.category == "speech"
        assert e.caption and e.licence == {v.voice: v.licence for v in VOICES}[e.group]


def test_every_line_is_used_once_and_long_lines_are_cut_into_windows(speech) -> None:
    root, _, _ = speech
    entries = read_manifest(root / "one")
    used = [o.split("@")[0] for e in entries for o in e.origin]
    b_lines = sorted({o for o in used if o.startswith("pkg-b:")})
    assert len(b_lines) == 5
    longest = [o for e in entries for o in e.origin if o.startswith("pkg-b:usr/share/other/l4.ogg")]
    assert [o.split("@")[1] for o in longest] == ["0.00-4.00", "4.00-5.50"]  # a 5.5 s line: two windows


def test_pitch_check_agrees_with_the_stand_in_voices(speech) -> None:
    root, _, _ = speech
    rows = pitch_check(root / "one", per_voice=4)
    assert {r["voice"]: r["pitch"] for r in rows} == {
        "a-man": "man speaking", "a-woman": "woman speaking", "a-deep": "man speaking", "b-man": "man speaking"}
    assert all(r["agree"] for r in rows)


def _music_trees(root: Path) -> dict[str, Path]:
    trees = {}
    for p, package in enumerate(("snd-a", "snd-b")):
        for i in range(4):
            t = np.arange(int((9 + 3 * i) * RATE)) / RATE
            audio = 0.2 * np.sin(2 * np.pi * (220 + 40 * i + 7 * p) * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t))
            path = root / package / "usr/share/music" / f"track{i}.ogg"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(_ogg(audio.astype(np.float32)))
        trees[package] = root / package
    (root / "snd-a/usr/share/music/copy.ogg").write_bytes((root / "snd-a/usr/share/music/track0.ogg").read_bytes())
    return trees


TRACKS = (
    TrackRow("snd-a", "usr/share/music/track3.ogg", "ambient music", "file", "GPL-2+", "Vorbis GENRE tag"),
    TrackRow("snd-a", "usr/share/music/track1.ogg;usr/share/music/track2.ogg", "music", "snd-a:pair", "GPL-2+", "x"),
    TrackRow("snd-a", "usr/share/music/*.ogg", "music", "file", "GPL-2+", "package: game soundtrack"),
    TrackRow("snd-b", "usr/share/music/*.ogg", "music", "file", "CC-BY-SA-3.0", "package: game soundtrack"),
)


@pytest.fixture(scope="module")
def music(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path], MusicBedSettings]:
    root = tmp_path_factory.mktemp("music")
    trees = _music_trees(root / "trees")
    settings = MusicBedSettings(seed=1, clips_per_track=2, heldout=("snd-b",), val=0.0, test=0.25)
    build_musicbeds(root / "one", settings, 1, False, trees, TRACKS)
    return root, trees, settings


def test_music_beds_are_deterministic_split_by_recording_and_hold_out_packages(music) -> None:
    root, trees, settings = music
    entries = check_corpus(root / "one")
    build_musicbeds(root / "two", settings, 2, False, trees, TRACKS)
    assert corpus_hashes(root / "one") == corpus_hashes(root / "two")
    assert_groups_disjoint(entries)
    assert {e.split for e in entries if e.source == "snd-b"} == {"test"}
    assert "train" in {e.split for e in entries if e.source == "snd-a"}
    groups = {e.group for e in entries}
    assert "snd-a:pair" in groups and not any(g.startswith(("snd-a:usr/share/music/track1", "snd-a:usr/share/music/track2"))
                                              for g in groups)
    twins = {g for g in groups if g in ("snd-a:usr/share/music/copy.ogg", "snd-a:usr/share/music/track0.ogg")}
    assert len(twins) == 1  # byte-identical files are kept once
    ambient = [e for e in entries if e.label == "ambient music"]
    assert ambient and all(e.labels == ("ambient music", "music") and e.meta["noun"] == "ambient music"
                           for e in ambient)
    assert all(e.labels == ("music",) for e in entries if e.label == "music")


def test_real_test_mixtures_are_deterministic_with_absent_classes(speech, music, tmp_path: Path) -> None:
    corpora = (str(speech[0] / "one"), str(music[0] / "one"))
    settings = RealTestSettings(corpora=corpora, mixtures_per_domain=4, seed=5)
    build_realtest(tmp_path / "one", settings, 1, False)
    build_realtest(tmp_path / "two", settings, 2, False)
    assert corpus_hashes(tmp_path / "one") == corpus_hashes(tmp_path / "two")
    entries = read_manifest(tmp_path / "one")
    assert {e.meta["domain"] for e in entries} == {"speech over music"} and len(entries) == 4
    for e in entries:
        assert e.split == "test" and len(e.stems) == 2
        stem_labels = {label for s in e.stems for label in s.labels}
        assert not set(e.meta["absent"]) & stem_labels


def test_realspeech_cli_names_an_unknown_voice_in_one_line(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "research", "data", "realspeech", "-o", str(tmp_path / "c"),
                             "--voices", "nobody-here", "--quiet"], check=False, capture_output=True, text=True)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "nobody-here" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "c").exists()


def test_mixed_sources_never_exceed_full_scale_even_when_their_sum_cancels() -> None:
    from soundsift.training.data.mixtures import PEAK, mix_sources

    loud = np.full(100, 0.9, dtype=np.float32)
    out = mix_sources([loud, -loud], [5.0, 5.0])  # each +5 dB is 1.6, their sum is silence
    assert float(np.max(np.abs(out))) <= PEAK + 1e-6
    np.testing.assert_allclose(out[0] / out[0, 0], np.ones(100), rtol=1e-6)  # scaled, not clipped


def test_realtest_and_pitchcheck_commands_run_like_a_user(speech, music, tmp_path: Path) -> None:
    out = tmp_path / "rt"
    run = [sys.executable, "-m", "research", "data"]
    result = subprocess.run([*run, "realtest", str(speech[0] / "one"), str(music[0] / "one"), "-o", str(out),
                             "--mixtures", "2", "--jobs", "1"], check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "no sfx pairs mixtures (no test clips of kind sfx)" in result.stderr
    assert "mixtures per domain: speech over music 2" in result.stdout
    assert len(read_manifest(out)) == 2
    result = subprocess.run([*run, "pitchcheck", str(speech[0] / "one"), "--clips", "3"], check=False,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith("voice\tlabel\tmedian_f0")
    assert result.stdout.strip().endswith("4 of 4 voices agree with their median pitch")


def test_zero_shot_summary_counts_hits_per_class_and_source() -> None:
    from research.data.realtest_zeroshot import summarise

    labels = ["man speaking", "man speaking", "woman speaking", "music"]
    answers = ["man speaking", "pig", "woman speaking", "violin"]
    report = summarise(labels, answers, ["a", "b", "b", "c"], 44)
    assert report["clips"] == 4 and report["unknown_class_clips"] == 1  # "music" is not a known class
    assert report["top1"] == 2 / 3 and report["per_class"]["man speaking"] == {"clips": 2, "top1": 0.5}
    assert report["per_source"] == {"a": {"clips": 1, "top1": 1.0}, "b": {"clips": 2, "top1": 0.5}}
    assert report["answers"][0] == ("man speaking", 1) and ("violin", 1) not in report["answers"]


def test_zeroshot_command_scores_the_shipped_encoder_on_test_clips(speech) -> None:
    result = subprocess.run([sys.executable, "-m", "research", "data", "zeroshot", str(speech[0] / "one")],
                            check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    tests = [e for e in read_manifest(speech[0] / "one") if e.split == "test"]
    assert result.stdout.startswith(f"{len(tests)} clips, 0 of classes the encoder does not know; top-1 over 44 classes")
    assert "  pkg-b: " in result.stdout and "most frequent answers: " in result.stdout
