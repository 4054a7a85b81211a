"""Output folders and names: remove-mode names, re-runs into a track folder, folder inputs after a run."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile

from soundsift import publishing
from soundsift.batch import expand_inputs, plan_jobs
from soundsift.cli import main
from soundsift.errors import SoundsiftError
from soundsift.output_folders import MARKER, earlier_outputs
from soundsift.separator import Separator
from tests.conftest import test_signal, write_test_file

SR = 16_000

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _wavs(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.wav"))


def test_remove_mode_files_are_named_after_what_they_lack(tmp_path):
    jobs = plan_jobs([tmp_path / "take.wav"], ["rain", "A dog!"], tmp_path / "out", "wav", mode="remove")
    assert sorted(p.name for p in jobs[0].outputs.values()) == ["rest.wav", "without-a-dog.wav", "without-rain.wav"]
    extract = plan_jobs([tmp_path / "take.wav"], ["rain"], tmp_path / "out", "wav")
    assert sorted(p.name for p in extract[0].outputs.values()) == ["rain.wav", "rest.wav"]


def test_one_query_in_remove_mode_writes_no_duplicate_rest(tmp_path, tiny_model):
    audio = test_signal(SR, 1, 0.5)
    source = write_test_file(tmp_path / "take.wav", audio, SR, "FLOAT")
    out = tmp_path / "out"
    assert main(["separate", str(source), "-q", "rain", "--mode", "remove", "-o", str(out), "--model",
                 str(tiny_model), "--bit-depth", "32f", "--quiet"]) == 0
    assert _wavs(out / "take") == ["without-rain.wav"]
    assert main(["separate", str(source), "-q", "rain", "-q", "wind", "--mode", "remove", "-o", str(tmp_path / "two"),
                 "--model", str(tiny_model), "--bit-depth", "32f", "--quiet"]) == 0
    assert _wavs(tmp_path / "two" / "take") == ["rest.wav", "without-rain.wav", "without-wind.wav"]
    removed = soundfile.read(tmp_path / "two" / "take" / "without-rain.wav", dtype="float32")[0]
    assert np.abs(removed - audio).max() > 1e-3  # the file holds the input without the sound, not the sound


def _separate(source: Path, out: Path, model: Path, *args: str) -> int:
    return main(["separate", str(source), "-o", str(out), "--model", str(model), "--quiet", *args])


def test_a_second_run_is_refused_then_replaces_the_first_as_a_whole(tmp_path, tiny_model, capsys):
    source = write_test_file(tmp_path / "mix.wav", test_signal(SR, 1, 0.5), SR)
    out = tmp_path / "out"
    assert _separate(source, out, tiny_model, "-q", "violin", "-q", "rain") == 0
    marker = json.loads((out / "mix" / MARKER).read_text())
    assert marker["source"] == "mix.wav" and sorted(marker["outputs"]) == ["rain.wav", "rest.wav", "violin.wav"]
    before = {p.name: p.read_bytes() for p in (out / "mix").glob("*.wav")}
    capsys.readouterr()

    assert _separate(source, out, tiny_model, "-q", "drums") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already holds the outputs of an earlier run" in err and "--overwrite" in err
    assert {p.name: p.read_bytes() for p in (out / "mix").glob("*.wav")} == before

    (out / "mix" / "notes.txt").write_text("mine")
    assert _separate(source, out, tiny_model, "-q", "drums", "--overwrite") == 0
    assert _wavs(out / "mix") == ["drums.wav", "rest.wav"]
    assert (out / "mix" / "notes.txt").read_text() == "mine"  # only soundsift's own files give way
    assert sorted(json.loads((out / "mix" / MARKER).read_text())["outputs"]) == ["drums.wav", "rest.wav"]
    assert not list((out / "mix").glob("*.part"))


def test_the_marker_gets_the_mode_of_the_outputs(tmp_path, tiny_model):
    source = write_test_file(tmp_path / "mix.wav", test_signal(SR, 1, 0.3), SR)
    assert _separate(source, tmp_path / "out", tiny_model, "-q", "violin") == 0
    folder = tmp_path / "out" / "mix"
    modes = {p.name: p.stat().st_mode & 0o777 for p in folder.iterdir()}
    assert modes[MARKER] == modes["violin.wav"] == modes["rest.wav"]


def test_a_failed_overwrite_keeps_the_earlier_run(tmp_path, tiny_model, monkeypatch):
    source = write_test_file(tmp_path / "mix.wav", test_signal(SR, 1, 0.5), SR)
    out = tmp_path / "out"
    assert _separate(source, out, tiny_model, "-q", "violin") == 0
    before = {p.name: p.read_bytes() for p in (out / "mix").iterdir()}

    def broken(self, *args, **kwargs):
        raise SoundsiftError("the model broke")

    monkeypatch.setattr(Separator, "separate_file", broken)
    assert _separate(source, out, tiny_model, "-q", "drums", "--overwrite", "--engine", "torch") == 1
    assert {p.name: p.read_bytes() for p in (out / "mix").iterdir()} == before


def test_folder_inputs_skip_folders_holding_earlier_outputs(tmp_path, tiny_model):
    music = tmp_path / "music"
    music.mkdir()
    for name in ["a", "b"]:
        write_test_file(music / f"{name}.wav", test_signal(SR, 1, 0.3), SR)
    for run in range(3):  # the outputs land inside the input folder, as in "-o music/out" without the exclusion
        assert _separate(music, music / f"out{run}", tiny_model, "-q", "violin") == 0
    assert sorted(p.name for p in (music / "out2").iterdir()) == ["a", "b"]
    assert expand_inputs([music]) == [music / "a.wav", music / "b.wav"]


def test_expanding_a_folder_skips_an_output_folder_inside_it_only(tmp_path):
    music = tmp_path / "music"
    (music / "out" / "a").mkdir(parents=True)
    for path in [music / "a.wav", music / "out" / "a" / "stem.wav"]:
        write_test_file(path, test_signal(SR, 1, 0.1), SR)
    assert expand_inputs([music], exclude=music / "out") == [music / "a.wav"]
    assert expand_inputs([music], exclude=music) == [music / "a.wav", music / "out" / "a" / "stem.wav"]
    assert expand_inputs([music], exclude=tmp_path) == [music / "a.wav", music / "out" / "a" / "stem.wav"]


def test_a_folder_that_is_its_own_output_folder_is_separated_once(tmp_path, tiny_model, capsys):
    music = tmp_path / "music"
    music.mkdir()
    for name in ["a", "b"]:
        write_test_file(music / f"{name}.wav", test_signal(SR, 1, 0.3), SR)
    assert _separate(music, music, tiny_model, "-q", "violin") == 0
    assert sorted(p.name for p in music.iterdir()) == ["a", "a.wav", "b", "b.wav"]
    capsys.readouterr()
    assert _separate(music, music, tiny_model, "-q", "violin") == 1
    assert "already holds the outputs of an earlier run" in capsys.readouterr().err
    assert _separate(music, music, tiny_model, "-q", "violin", "--overwrite") == 0
    assert sorted(p.name for p in music.iterdir()) == ["a", "a.wav", "b", "b.wav"]
    assert _wavs(music / "a") == ["rest.wav", "violin.wav"]


def test_process_refuses_an_existing_output_unless_overwrite(tmp_path, tiny_model, capsys):
    audio = test_signal(SR, 1, 0.5)
    source = write_test_file(tmp_path / "in.wav", audio, SR, "FLOAT")
    target = tmp_path / "out.wav"
    target.write_bytes(b"earlier")
    args = ["process", str(source), "--preset", "dialogue", "--model", str(tiny_model), "-o", str(target), "--quiet"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already exists" in err and "--overwrite" in err
    assert target.read_bytes() == b"earlier"
    assert main([*args, "--overwrite"]) == 0
    assert soundfile.info(str(target)).frames == audio.shape[1]


@pytest.mark.parametrize("rest", [[], ["--no-rest"]])
def test_a_query_named_like_the_rest_is_refused_with_or_without_a_rest_file(tmp_path, tiny_model, capsys, rest):
    source = write_test_file(tmp_path / "mix.wav", test_signal(SR, 1, 0.3), SR)
    assert _separate(source, tmp_path / "out", tiny_model, "-q", "Rest!", *rest) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "query 'Rest!' would be written as 'rest'" in err
    assert not (tmp_path / "out").exists()
    jobs = plan_jobs([source], ["Rest!"], tmp_path / "out", "wav", mode="remove")
    assert [p.name for p in jobs[0].outputs.values()] == ["without-rest.wav"]



# Replacing an earlier run, interrupted at every step: the renames and removals of the new run are counted, and
# the run is stopped at the n-th, in process (KeyboardInterrupt) or killed outright with no clean-up at all.
def stop_at_step(n: int, stop: Callable[[], None], patch: Callable[[object, str, object], None] = setattr) -> None:
    """Call ``stop`` at the ``n``-th rename or removal from now on."""
    count = [0]

    def counted(real: Callable) -> Callable:
        def step(*args, **kwargs):
            count[0] += 1
            if count[0] == n:
                stop()
            return real(*args, **kwargs)
        return step

    patch(os, "replace", counted(os.replace))
    patch(pathlib.Path, "unlink", counted(pathlib.Path.unlink))


def _killed_run(argv: list[str], stop_at: int, interrupted_first: bool = False) -> int:
    """Run the command line in a process that dies at the ``stop_at``-th step (as if killed: nothing cleans up),
    or is interrupted there and dies at the next step (while undoing)."""
    stops = f"stop_at_step({stop_at}, _interrupt); stop_at_step({stop_at + 1}, kill)" if interrupted_first else \
        f"stop_at_step({stop_at}, kill)"
    child = ("import os, sys; from tests.test_output_folders import _interrupt, stop_at_step; "
             f"from soundsift.cli import main; kill = lambda: os._exit(9); {stops}; sys.exit(main(sys.argv[1:]))")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", child, *argv], env=env, cwd=Path(__file__).parents[1],
                          check=False).returncode


def _interrupt() -> None:
    raise KeyboardInterrupt


def _first_run(tmp_path: Path, model: Path) -> tuple[Path, Path, dict[str, bytes]]:
    """A folder holding one run (violin, rain, rest) and what it holds."""
    tmp_path.mkdir()
    source = write_test_file(tmp_path / "mix.wav", test_signal(SR, 1, 0.3), SR)
    assert _separate(source, tmp_path / "out", model, "-q", "violin", "-q", "rain") == 0
    folder = tmp_path / "out" / "mix"
    return source, folder, {p.name: p.read_bytes() for p in folder.glob("*.wav")}


def _one_run(folder: Path, earlier: dict[str, bytes]) -> str:
    """The folder holds exactly the earlier run or exactly the new one (drums, rest), as its marker says; which."""
    wavs = {p.name: p.read_bytes() for p in folder.glob("*.wav")}
    marker = json.loads((folder / MARKER).read_text())
    assert "replacing" not in marker and sorted(marker["outputs"]) == sorted(wavs)
    if wavs == earlier:
        return "earlier"
    assert sorted(wavs) == ["drums.wav", "rest.wav"] and wavs["rest.wav"] != earlier["rest.wav"]
    return "new"


def _after_the_next_runs(source: Path, folder: Path, model: Path, earlier: dict[str, bytes]) -> str:
    """A refused run finds one run in the folder; an overwriting one then replaces it cleanly.  Which run was there."""
    assert _separate(source, folder.parent, model, "-q", "wind") == 1  # refused, once the folder is settled
    outcome = _one_run(folder, earlier)
    assert _separate(source, folder.parent, model, "-q", "wind", "--overwrite") == 0
    assert _wavs(folder) == ["rest.wav", "wind.wav"]
    # temporary files are gone, but for this process's own (interrupted in process): the next process removes those
    assert all(f".{os.getpid()}." in p.name for p in folder.glob(".*.part"))
    return outcome


@pytest.mark.parametrize("stop", ["interrupted", "killed", "killed while undoing"])
def test_an_overwrite_stopped_at_any_step_leaves_one_run(tmp_path, tiny_model, monkeypatch, capsys, stop):
    outcomes = []
    for stop_at in range(1, 30):
        source, folder, earlier = _first_run(tmp_path / str(stop_at), tiny_model)
        argv = ["separate", str(source), "-o", str(folder.parent), "--model", str(tiny_model), "--quiet",
                "-q", "drums", "--overwrite"]
        if stop == "interrupted":
            with monkeypatch.context() as patched:
                stop_at_step(stop_at, _interrupt, patched.setattr)
                code = main(argv)
        else:
            code = _killed_run(argv, stop_at, interrupted_first=stop == "killed while undoing")
        monkeypatch.setattr(publishing, "_SWEPT", set())  # as in a new process, the folder is looked through again
        outcomes.append(_after_the_next_runs(source, folder, tiny_model, earlier))
        if code == 0:
            break
        assert code in {"interrupted": (130,), "killed": (9,), "killed while undoing": (9, 130)}[stop]
    assert outcomes[-1] == "new" and outcomes[0] == "earlier" and len(outcomes) > 4, outcomes
    capsys.readouterr()


@pytest.mark.parametrize("killed", [False, True], ids=["interrupted", "killed"])
def test_process_overwrite_stopped_at_any_step_leaves_the_old_file_or_the_new_one(tmp_path, tiny_model, monkeypatch,
                                                                                    killed):
    audio = test_signal(SR, 1, 0.3)
    source = write_test_file(tmp_path / "in.wav", audio, SR, "FLOAT")
    target = tmp_path / "out.wav"
    argv = ["process", str(source), "--preset", "dialogue", "--model", str(tiny_model), "-o", str(target), "--quiet",
            "--overwrite"]
    for stop_at in range(1, 20):
        target.write_bytes(b"earlier")
        if killed:
            code = _killed_run(argv, stop_at)
        else:
            with monkeypatch.context() as patched:
                stop_at_step(stop_at, _interrupt, patched.setattr)
                code = main(argv)
        if target.read_bytes() != b"earlier":
            assert soundfile.info(str(target)).frames == audio.shape[1]
        if code == 0:
            break
        assert code == (9 if killed else 130)
    assert code == 0 and stop_at > 1


def _half_replaced(folder: Path, pid: int) -> str:
    """A folder as a run ``pid`` leaves it when killed mid-replacement: drums published, rest still pending."""
    folder.mkdir()
    for name in ["violin.wav", "rest.wav", "notes.txt"]:
        (folder / name).write_text(f"earlier {name}")
    (folder / "drums.wav").write_text("new drums.wav")
    tmp = f".rest.{pid}.abcdefgh.part"
    (folder / tmp).write_text("new rest.wav")
    journal = {"format": 1, "source": "mix.wav", "outputs": ["drums.wav", "rest.wav"],
               "replacing": {"pending": [[f".drums.{pid}.ijklmnop.part", "drums.wav"], [tmp, "rest.wav"],
                                         ["../notes.txt", "rest.wav"]], "earlier": ["violin.wav", "../notes.txt"]}}
    (folder / MARKER).write_text(json.dumps(journal))
    return (folder / MARKER).read_text()


def test_a_replacement_left_half_done_is_finished_once_its_run_has_ended(tmp_path):
    (tmp_path / "notes.txt").write_text("outside")  # named by the marker as ../notes.txt: never touched
    runner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        journal = _half_replaced(tmp_path / "mix", runner.pid)
        assert earlier_outputs([tmp_path / "mix" / "wind.wav"])  # its run still goes on: left to that run
        assert (tmp_path / "mix" / MARKER).read_text() == journal
    finally:
        runner.kill()
        runner.wait()
    assert [p.name for p in earlier_outputs([tmp_path / "mix" / "wind.wav"])] == [MARKER, "drums.wav", "rest.wav"]
    assert {p.name: p.read_text() for p in (tmp_path / "mix").iterdir() if p.name != MARKER} == {
        "drums.wav": "new drums.wav", "rest.wav": "new rest.wav", "notes.txt": "earlier notes.txt"}  # only plain names
    assert json.loads((tmp_path / "mix" / MARKER).read_text()) == {
        "format": 1, "source": "mix.wav", "outputs": ["drums.wav", "rest.wav"]}
    assert (tmp_path / "notes.txt").read_text() == "outside"


def test_a_look_at_the_folder_while_this_process_replaces_it_leaves_the_replacement_alone(tmp_path, tiny_model,
                                                                                          monkeypatch):
    source, folder, earlier = _first_run(tmp_path / "run", tiny_model)
    rename_all = publishing._rename_all
    looked = []

    def looking_first(moves, done):  # as the app's window asks about the folder while its worker publishes
        looked.append(earlier_outputs([folder / "wind.wav"]))
        rename_all(moves, done)

    monkeypatch.setattr(publishing, "_rename_all", looking_first)
    assert _separate(source, folder.parent, tiny_model, "-q", "drums", "--overwrite") == 0
    assert looked and _one_run(folder, earlier) == "new"
