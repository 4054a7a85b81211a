"""Fine-tuning on a personal library: captions from every source, the run end to end, kill and resume."""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from soundsift import Separator
from soundsift.cli import main
from soundsift.core.finetune_info import read_finetune_info
from soundsift.errors import SoundsiftError
from soundsift.model.checkpoint import load_checkpoint
from soundsift.training.finetune.captions import (
    build_caption_table,
    caption_from_name,
    clean_words,
    format_caption_table,
)
from soundsift.training.finetune.library import scan_library
from soundsift.training.finetune.run import FinetuneControl, FinetuneSettings, finetune
from soundsift.training.finetune.sampler import LibrarySampler, captioned_clips, split_holdout
from tests.finetune_library import make_compact_base, make_library, tree_hashes


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_library(tmp_path_factory.mktemp("lib") / "My Library")


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_compact_base(tmp_path_factory.mktemp("base") / "tiny-base")


@pytest.fixture
def one_thread():
    """One torch thread: the machine's other cores are busy, and thread contention makes tiny models slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --- captions -------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "words"), [
    ("KickDrum_01-final", ["kick", "drum"]),
    ("rain on tin roof (take 3) v2", ["rain", "on", "tin", "roof"]),
    ("SFX_Door_Slam_44k_stereo", ["door", "slam"]),
    ("0001", []),
])
def test_file_names_are_cleaned_into_words(name, words):
    assert clean_words(name) == words


def test_a_file_name_without_words_falls_back_to_its_folder():
    assert caption_from_name("Field Recordings/Dawn Chorus/0001.wav") == "dawn chorus"
    assert caption_from_name("loops/Bass_Loop_120bpm.flac") == "bass loop"


def test_caption_sources_and_best_order(tmp_path):
    root = tmp_path / "lib"
    root.mkdir()
    tone = (0.1 * np.sin(np.linspace(0, 800, 16000))).astype(np.float32)
    for name in ("a.wav", "b.wav", "c_Blackbird_Song.wav"):
        soundfile.write(root / name, tone, 16000)
    (root / "a.txt").write_text("a violin plays while it rains\n")
    with soundfile.SoundFile(root / "tagged.flac", "w", 16000, 1) as f:
        f.title = "Harbour at dawn"
        f.genre = "field recording"
        f.write(tone)
    (root / "notes.txt").write_text("not audio")
    library = scan_library(root)
    assert [f.relative for f in library.files] == ["a.wav", "b.wav", "c_Blackbird_Song.wav", "tagged.flac"]
    best = {r.relative: (r.caption, r.source) for r in build_caption_table(library, "best").rows}
    assert best["a.wav"] == ("a violin plays while it rains", "sidecar")
    assert best["tagged.flac"] == ("Harbour at dawn (field recording)", "tags")
    assert best["c_Blackbird_Song.wav"] == ("blackbird song", "filenames")
    sidecar = build_caption_table(library, "sidecar")
    assert [r.relative for r in sidecar.rows] == ["a.wav"] and len(sidecar.missing) == 3
    text = format_caption_table(sidecar)
    assert "a violin plays" in text and "(left out)" in text


def test_manifests_in_csv_and_jsonl(tmp_path, library):
    files = scan_library(library)
    csv_path = tmp_path / "captions.csv"
    csv_path.write_text("path,caption\nsweeps/Sweep_00.wav,a rising whistle\nhisss/Hiss_01.wav,tape hiss\n")
    table = build_caption_table(files, str(csv_path))
    assert {(r.relative, r.caption, r.source) for r in table.rows} == {
        ("sweeps/Sweep_00.wav", "a rising whistle", "manifest"), ("hisss/Hiss_01.wav", "tape hiss", "manifest")}
    assert len(table.missing) == len(files.files) - 2
    jsonl = tmp_path / "captions.jsonl"
    jsonl.write_text(json.dumps({"path": str(library / "hisss" / "Hiss_01.wav"), "caption": "tape hiss"}) + "\n")
    assert [r.relative for r in build_caption_table(files, str(jsonl)).rows] == ["hisss/Hiss_01.wav"]
    bad = tmp_path / "bad.csv"
    bad.write_text("path,caption\nnot/there.wav,x\n")
    with pytest.raises(SoundsiftError, match="not/there.wav"):
        build_caption_table(files, str(bad))


def test_auto_captions_come_from_the_vocabulary(tmp_path, library):
    from soundsift.training.finetune.autotag import AutoTagger

    vocabulary = ["a hum", "hiss", "a whistle"]
    table = build_caption_table(scan_library(library), "auto", AutoTagger(vocabulary).caption_files)
    allowed = set(vocabulary) | {f"{a} and {b}" for a in vocabulary for b in vocabulary if a != b}
    assert len(table.rows) == 16 and {r.caption for r in table.rows} <= allowed
    assert {r.source for r in table.rows} == {"auto"}


def test_auto_captions_default_to_the_classes_the_bundled_model_and_encoder_know():
    from soundsift.core.store import BUNDLED_DIR
    from soundsift.training.finetune.autotag import default_vocabulary
    from soundsift.vocabulary import read_vocabulary

    labels = [c.label for c in read_vocabulary(BUNDLED_DIR / "default").classes]
    assert default_vocabulary() == labels and {"violin", "dog barking", "man speaking"} <= set(labels)


def test_holdout_split_keeps_every_caption_in_training_and_mixtures_are_levelled(library):
    lib = scan_library(library)
    clips = captioned_clips(lib, build_caption_table(lib, "filenames"))
    train, held = split_holdout(clips, 0.25, seed=0)
    assert len(held) == 4 and {c.caption for c in held} == {c.caption for c in train}
    assert split_holdout(clips, 0.25, seed=0) == (train, held)
    mixtures = LibrarySampler(held, 16000, 1.0).test_mixtures(3, seed=1)
    for mix in mixtures:
        assert mix.stems.shape == (2, 16000) and mix.labels[0] != mix.labels[1]
        np.testing.assert_allclose(mix.mixture, mix.stems.sum(axis=0), atol=1e-6)
    with pytest.raises(SoundsiftError, match="two different captions"):
        split_holdout([c for c in clips if c.caption == "hiss"], 0.25, seed=0)


# --- the run ---------------------------------------------------------------------------------


def _settings(library: Path, base: Path, **overrides: object) -> FinetuneSettings:
    values = {"library": str(library), "name": "my-sounds", "captions": "filenames", "base": str(base), "steps": 40,
              "batch_size": 4, "seconds": 1.0, "lr": 3e-3, "holdout": 0.25, "test_mixtures": 6, "validate_every": 40,
              "checkpoint_every": 10, "log_every": 5}
    return FinetuneSettings(**{**values, **overrides})


@pytest.mark.slow
def test_finetuned_model_beats_its_base_on_held_out_library_mixtures(library, base, tmp_path, one_thread, capsys):
    before = tree_hashes(library)
    events = []
    result = finetune(_settings(library, base), tmp_path / "run", device="cpu", on_event=events.append)
    assert result.status == "done" and result.step == 40
    assert result.best_sdri > result.base_sdri + 1.0, (result.base_sdri, result.best_sdri)
    assert tree_hashes(library) == before  # the library is read only
    info = read_finetune_info(result.model_dir)
    assert info["base_heldout_sdri"] == pytest.approx(result.base_sdri, abs=1e-3)
    assert info["files"] == 16 and info["heldout_files"] == 4 and info["captions"] == "filenames"
    assert [e.step for e in events if e.kind == "score"] == [0, 40]
    # the store lists it with base, data and scores; the separator loads it by name
    assert main(["models", "list"]) == 0
    listed = capsys.readouterr().out
    assert "my-sounds" in listed and "fine-tuned from" in listed and "held-out SDRi" in listed
    separator = Separator.load("my-sounds", device="cpu")
    stems = separator.separate(np.zeros((1, 8000), np.float32), ["hiss"], 16000)
    assert stems["hiss"].shape == (1, 8000)
    rows = list(csv.DictReader((tmp_path / "run" / "log.csv").open()))
    assert [int(r["step"]) for r in rows] == [0, *range(5, 41, 5)] and float(rows[0]["val_sdri"]) < 1.0


def test_stop_keeps_a_resumable_checkpoint_and_the_name_is_guarded(library, base, tmp_path, one_thread):
    control = FinetuneControl()
    seen = []

    def stop_at_three(event):
        seen.append(event)
        if event.kind == "step" and event.step == 3:
            control.stop()

    settings = _settings(library, base, steps=6, test_mixtures=2, validate_every=100)
    result = finetune(settings, tmp_path / "run", device="cpu", on_event=stop_at_three, control=control)
    assert result.status == "stopped" and result.step == 3 and result.model_dir is None
    assert json.loads((tmp_path / "run" / "checkpoint" / "trainer.json").read_text())["step"] == 3
    with pytest.raises(SoundsiftError, match="--resume"):
        finetune(settings, tmp_path / "run", device="cpu")
    done = finetune(settings, tmp_path / "run", resume=True, device="cpu")
    assert done.status == "done" and done.step == 6
    with pytest.raises(SoundsiftError, match="already exists"):
        finetune(settings, tmp_path / "other-run", device="cpu")


def test_base_without_an_audio_tower_is_refused(library, tmp_path):
    from tests.conftest import make_model

    ngram = make_model(tmp_path / "ngram")
    with pytest.raises(SoundsiftError, match="audio tower"):
        finetune(_settings(library, ngram, steps=1, test_mixtures=1), tmp_path / "run", device="cpu")


def test_dry_run_shows_captions_and_writes_nothing(library, base, tmp_path, capsys):
    before = tree_hashes(library)
    code = main(["finetune", str(library), "--name", "dry", "--captions", "filenames", "--base", str(base),
                 "--run-dir", str(tmp_path / "run"), "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0 and "mains hum" in out and "16 captioned files" in out and "held out:" in out
    assert "protect: replay (--protect)" in out
    assert not (tmp_path / "run").exists() and tree_hashes(library) == before


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "soundsift", *args]


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_final_step(library, base, tmp_path):
    run = tmp_path / "run"
    args = ["finetune", str(library), "--name", "killed", "--captions", "filenames", "--base", str(base),
            "--run-dir", str(run), "--steps", "14", "--seconds", "1", "--test-mixtures", "2", "--holdout", "0.25",
            "--checkpoint-every", "2", "--validate-every", "1000", "--threads", "1", "--quiet"]
    proc = subprocess.Popen(_cli(*args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    state = run / "checkpoint" / "trainer.json"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None and \
            not (state.exists() and json.loads(state.read_text())["step"] >= 4):
        time.sleep(0.05)
    assert proc.poll() is None, proc.stderr.read().decode()
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    saved = json.loads(state.read_text())["step"]
    assert 4 <= saved < 14
    load_checkpoint(run / "checkpoint")  # whole and loadable, not half written
    resume = [a for a in args if a not in ("--steps", "14")] + ["--resume"]  # the run's own step count
    result = subprocess.run(_cli(*resume), check=False, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads(state.read_text())["step"] == 14
    steps = [int(r["step"]) for r in csv.DictReader((run / "log.csv").open())]
    assert steps == sorted(set(steps)) and steps[-1] == 14
    assert read_finetune_info(Path(os.environ["SOUNDSIFT_MODELS"]) / "killed")["steps"] == 14


def test_replay_mixes_the_base_models_data_into_each_batch(library, base, tmp_path, one_thread):
    from soundsift.training.finetune.replay import PACK_DIR, find_replay
    from tests.train_corpus import make_corpus

    corpus = make_corpus(tmp_path / "corpus")
    paths, note = find_replay([corpus], "default")
    assert paths == [corpus] and str(corpus) in note
    assert find_replay([], "some-model") == ([PACK_DIR], "replay: the replay pack shipped with soundsift")
    with pytest.raises(SoundsiftError, match="manifest.jsonl"):
        find_replay([tmp_path], "default")
    seen = []
    settings = _settings(library, base, steps=2, test_mixtures=1, replay=(str(corpus),), replay_fraction=0.5,
                         holdout=0.0)
    result = finetune(settings, tmp_path / "run", device="cpu", on_event=seen.append)
    assert result.status == "done" and result.base_sdri is None
    assert read_finetune_info(result.model_dir)["replay"] == [str(corpus)]
    assert any("replay: " in e.text and str(corpus) in e.text for e in seen if e.kind == "message")


def test_replay_falls_back_to_the_pack_then_says_it_is_off(tmp_path, monkeypatch):
    from soundsift.training.finetune import replay

    monkeypatch.chdir(tmp_path)
    assert replay.find_replay([], "default") == ([replay.PACK_DIR], "replay: the replay pack shipped with soundsift")
    monkeypatch.setattr(replay, "PACK_DIR", tmp_path / "no-pack")
    paths, note = replay.find_replay([], "default")
    assert paths == [] and "replay: off" in note


def test_training_pairs_never_share_a_named_sound(tmp_path):
    from soundsift.training.finetune.sampler import Clip, LibrarySampler, can_mix

    clips = [Clip(f"{i}.wav", tmp_path / f"{i}.wav", caption, 1.0) for i, caption in
             enumerate(["birds chirping", "a xylophone and birds chirping", "birds chirping and a xylophone", "a tuba"])]
    sampler = LibrarySampler(clips, 16000, 0.5)
    assert [sorted(sampler.partners[i]) for i in range(4)] == [[3], [3], [3], [0, 1, 2]]
    assert not can_mix(clips[:3]) and can_mix(clips)
    with pytest.raises(SoundsiftError, match="different sounds"):
        LibrarySampler(clips[:3], 16000, 0.5)
