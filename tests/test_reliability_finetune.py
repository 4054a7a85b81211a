"""Fine-tuning runs that can always be recovered: unusable files, damaged run folders, Ctrl-C, durable writes,
and one clear line when the train extra is missing."""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from soundsift.cli import main
from soundsift.errors import SoundsiftError
from soundsift.model.checkpoint import save_checkpoint
from soundsift.training.finetune.run import FinetuneControl, FinetuneSettings, finetune
from tests.disk_log import flushed_before_published
from tests.finetune_library import block_train_extra, make_compact_base, make_library, tree_hashes

BROKEN = "hisss/Hiss_09.wav"  # captioned "hiss" by its name; its header promises more audio than it holds


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_compact_base(tmp_path_factory.mktemp("base") / "tiny-base")


@pytest.fixture
def library(tmp_path: Path) -> Path:
    return make_library(tmp_path / "lib", per_kind=3)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _break_a_file(library: Path) -> None:
    """A truncated WAV: the header probe passes, decoding fails at the end of the data."""
    good = (library / "hisss" / "Hiss_00.wav").read_bytes()
    (library / BROKEN).write_bytes(good[: len(good) // 3])


def _settings(library: Path, base: Path, **overrides: object) -> FinetuneSettings:
    values = {"library": str(library), "name": "mine", "captions": "filenames", "base": str(base), "steps": 4,
              "batch_size": 2, "seconds": 0.5, "lr": 1e-3, "holdout": 0.34, "test_mixtures": 1,
              "validate_every": 1000, "checkpoint_every": 1, "log_every": 1}
    return FinetuneSettings(**{**values, **overrides})


def _cli_args(library: Path, base: Path, run: Path, *extra: str) -> list[str]:
    return ["finetune", str(library), "--name", "mine", "--captions", "filenames", "--base", str(base),
            "--run-dir", str(run), "--seconds", "0.5", "--batch-size", "2", "--test-mixtures", "1",
            "--holdout", "0.34", "--validate-every", "1000", "--checkpoint-every", "1", "--threads", "1",
            "--quiet", *extra]


def _stop_at(control: FinetuneControl, step: int):
    def on_event(event):
        if event.kind == "step" and event.step == step:
            control.stop()

    return on_event


@pytest.fixture
def stopped_run(library: Path, base: Path, tmp_path: Path) -> Path:
    """A run folder stopped at step 2 of 4 (resumable)."""
    control = FinetuneControl()
    result = finetune(_settings(library, base), tmp_path / "run", device="cpu", control=control,
                      on_event=_stop_at(control, 2))
    assert result.status == "stopped" and result.step == 2
    return tmp_path / "run"


# --- files that pass the header probe but do not decode --------------------------------------


def test_dry_run_lists_a_file_that_does_not_decode_as_unusable(library, base, tmp_path, capsys):
    _break_a_file(library)
    code = main(_cli_args(library, base, tmp_path / "run", "--dry-run"))
    out = capsys.readouterr().out
    assert code == 0
    assert f"unusable, left out: {BROKEN} (truncated" in out
    assert out.count("Hiss_09") == 1  # listed once, as unusable, and not in the caption table


def test_training_skips_a_file_that_does_not_decode_and_drops_its_caption(library, base, tmp_path):
    _break_a_file(library)
    messages = []
    result = finetune(_settings(library, base, steps=2), tmp_path / "run", device="cpu",
                      on_event=lambda e: messages.append(e.text) if e.kind == "message" else None)
    assert result.status == "done" and result.step == 2
    assert any(BROKEN in m and "truncated" in m for m in messages)
    assert BROKEN not in (tmp_path / "run" / "captions.csv").read_text()
    assert BROKEN not in json.loads((tmp_path / "run" / "finetune.json").read_text())["heldout"]


def test_resume_works_after_a_file_is_removed_and_keeps_the_held_out_files(stopped_run, library, base):
    record = json.loads((stopped_run / "finetune.json").read_text())
    held = record["heldout"]
    gone = next(r for r in ("sweeps/Sweep_00.wav", "sweeps/Sweep_01.wav", "sweeps/Sweep_02.wav") if r not in held)
    (library / gone).unlink()
    messages = []
    result = finetune(_settings(library, base), stopped_run, resume=True, device="cpu",
                      on_event=lambda e: messages.append(e.text) if e.kind == "message" else None)
    assert result.status == "done" and result.step == 4
    assert any(gone in m for m in messages)
    assert json.loads((stopped_run / "finetune.json").read_text())["heldout"] == held


def test_a_file_that_stops_decoding_mid_run_ends_it_with_a_checkpoint_that_resumes(library, base, tmp_path,
                                                                                     monkeypatch):
    from soundsift.errors import AudioError
    from soundsift.training.finetune.sampler import LibrarySampler

    lost: list[bool] = []
    excerpt = LibrarySampler.excerpt

    def excerpt_until_lost(self, clip, rng, centred=False):
        if lost:
            raise AudioError(clip.path, "no such file")
        return excerpt(self, clip, rng, centred)

    monkeypatch.setattr(LibrarySampler, "excerpt", excerpt_until_lost)
    settings = _settings(library, base, checkpoint_every=100)
    with pytest.raises(SoundsiftError, match="resume with --resume") as ended:
        finetune(settings, tmp_path / "run", device="cpu",
                 on_event=lambda e: lost.append(True) if e.kind == "step" and e.step == 2 else None)
    assert "no such file" in str(ended.value) and "saved at step 2" in str(ended.value)
    assert json.loads((tmp_path / "run" / "checkpoint" / "trainer.json").read_text())["step"] == 2
    lost.clear()  # the file is back
    result = finetune(settings, tmp_path / "run", resume=True, device="cpu")
    assert result.status == "done" and result.step == 4


def test_a_refused_fresh_start_says_how_to_restart_and_restart_starts_over(stopped_run, library, base):
    (stopped_run / "notes.txt").write_text("mine")
    (stopped_run / ".settings").write_text("mine")
    with pytest.raises(SoundsiftError, match="--restart") as refused:
        finetune(_settings(library, base), stopped_run, device="cpu")
    assert str(stopped_run) in str(refused.value) and "\n" not in str(refused.value)
    steps = []
    result = finetune(_settings(library, base, steps=1), stopped_run, restart=True, device="cpu",
                      on_event=lambda e: steps.append(e.step) if e.kind == "step" else None)
    assert result.status == "done" and steps == [1]  # from the base model, not from step 2
    assert (stopped_run / "notes.txt").read_text() == "mine"  # only the run's own files were removed
    assert (stopped_run / ".settings").read_text() == "mine"


# --- damaged run folders on --resume ---------------------------------------------------------


def _damage_run_file(run: Path) -> str:
    (run / "finetune.json").write_text('{"settings": {"library": ')
    return "finetune.json: damaged"


def _drop_settings(run: Path) -> str:
    (run / "finetune.json").write_text("{}")
    return "finetune.json: damaged (no 'settings' entry)"


def _damage_trainer(run: Path) -> str:
    (run / "checkpoint" / "trainer.json").write_text("not json")
    return "trainer.json: damaged"


def _remove_trainer(run: Path) -> str:
    (run / "checkpoint" / "trainer.json").unlink()
    return "trainer.json"


def _remove_captions(run: Path) -> str:
    (run / "captions.csv").unlink()
    return "captions.csv: missing"


def _damage_captions(run: Path) -> str:
    (run / "captions.csv").write_text("file,text\nx,y\n")
    return "captions.csv: damaged"


@pytest.mark.parametrize("damage", [_damage_run_file, _drop_settings, _damage_trainer, _remove_trainer,
                                    _remove_captions, _damage_captions])
def test_a_damaged_run_folder_is_one_line_saying_what_and_how_to_restart(stopped_run, library, base, damage, capsys):
    expected = damage(stopped_run)
    code = main(_cli_args(library, base, stopped_run, "--resume"))
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and expected in err and "--restart" in err and str(stopped_run) in err
    assert main(_cli_args(library, base, stopped_run, "--restart", "--steps", "1")) == 0  # and the advice works


# --- Ctrl-C, --dry-run checks, the run folder --------------------------------------------------


def test_ctrl_c_saves_a_checkpoint_and_says_resume_with_resume(library, base, tmp_path, capsys):
    run = tmp_path / "run"
    state = run / "checkpoint" / "trainer.json"

    def interrupt_after_two_steps() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if json.loads(state.read_text())["step"] >= 2:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGINT)

    before = signal.getsignal(signal.SIGINT)  # default_int_handler, or SIG_IGN when started in the background
    sender = threading.Thread(target=interrupt_after_two_steps)
    sender.start()
    code = main(_cli_args(library, base, run, "--steps", "100000"))
    sender.join()
    err = capsys.readouterr().err
    saved = json.loads(state.read_text())["step"]
    assert code == 130
    assert "resume with --resume" in err and f"stopped at step {saved} of 100000" in err
    assert signal.getsignal(signal.SIGINT) is before  # put back after the run
    assert main(_cli_args(library, base, run, "--resume", "--steps", str(saved + 1))) == 0


def test_dry_run_checks_the_base_model(library, tmp_path, capsys):
    from tests.conftest import make_model

    assert main(_cli_args(library, tmp_path / "no-such-model", tmp_path / "run", "--dry-run")) == 1
    assert "no-such-model" in capsys.readouterr().err
    ngram = make_model(tmp_path / "ngram")
    assert main(_cli_args(library, ngram, tmp_path / "run", "--dry-run")) == 1
    assert "audio tower" in capsys.readouterr().err


@pytest.mark.parametrize("dry_run", [True, False])
def test_a_run_folder_inside_the_library_is_refused(library, base, capsys, dry_run):
    before = tree_hashes(library)
    code = main(_cli_args(library, base, library / "runs" / "mine", *(["--dry-run"] if dry_run else [])))
    err = capsys.readouterr().err
    assert code == 1 and "inside the library" in err and err.count("\n") == 1
    assert tree_hashes(library) == before


# --- durable writes --------------------------------------------------------------------------


def test_checkpoints_and_models_are_flushed_to_disk_before_they_are_published(base, tmp_path, disk_log):
    from soundsift.model.checkpoint import load_checkpoint
    from soundsift.training.state import Progress, save_state

    network, encoder = load_checkpoint(base)
    save_checkpoint(tmp_path / "model", network, encoder)
    flushed_before_published(disk_log, tmp_path / "model", ["config.json", "model.safetensors"])
    disk_log.clear()
    optimizer = torch.optim.AdamW(network.parameters())
    save_state(tmp_path / "run", network, encoder, optimizer, Progress(3), np.random.default_rng(0))
    flushed_before_published(disk_log, tmp_path / "run" / "checkpoint",
                             ["config.json", "model.safetensors", "optimizer.safetensors", "trainer.json"])


def test_a_finished_run_flushes_its_model_and_run_files(library, base, tmp_path, disk_log):
    result = finetune(_settings(library, base, steps=1), tmp_path / "run", device="cpu")
    flushed_before_published(disk_log, result.model_dir, ["config.json", "model.safetensors", "finetune.json"])
    flushed_before_published(disk_log, tmp_path / "run" / "finetune.json", [".finetune.json.part"])
    flushed_before_published(disk_log, tmp_path / "run" / "captions.csv", [".captions.csv.part"])


# --- without the train extra ---------------------------------------------------------------


def test_finetune_without_the_train_extra_is_one_line_naming_the_extra(library, base, tmp_path, monkeypatch, capsys):
    block_train_extra(monkeypatch)
    for extra in ([], ["--dry-run"]):
        code = main(_cli_args(library, base, tmp_path / "run", *extra))
        err = capsys.readouterr().err
        assert code == 1 and err.count("\n") == 1
        assert "fine-tuning needs the train extra" in err and "pip install 'soundsift[train]'" in err
    assert not (tmp_path / "run").exists()
    assert sys.modules["mir_eval"] is None  # the block held for the whole test
