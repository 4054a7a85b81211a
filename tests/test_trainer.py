"""The separator trainer: recipes, a short run, resume after a kill, and two-process DDP on gloo."""
from __future__ import annotations

import csv
import dataclasses
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from research.data.testset import TestsetSettings, build_testset
from soundsift import Separator
from soundsift.core.store import BUNDLED_DIR
from soundsift.training.captions import split_caption
from soundsift.training.recipe import RecipeError, load_recipe
from soundsift.training.trainer import train
from tests.train_corpus import make_corpus

RECIPE = """
name = "tiny"
regime = "{regime}"
[model.network]
base_channels = 4
max_channels = 8
depth = 2
fusion_maps = 4
[model.encoder]
name = "ngram"
options = {{ dim = 32 }}
[data]
corpora = ["corpus"]
sources_per_part = {sources}
parts = 2
seconds = 0.5
validation = "valset"
validation_limit = 2
[optim]
steps = {steps}
batch_size = 2
lr = 0.003
checkpoint_every = 2
validate_every = 4
log_every = 1
"""


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    corpus = make_corpus(root / "corpus")
    build_testset(root / "valset", TestsetSettings(corpora=(str(corpus),), mixtures=2), progress=False)
    return root


def _recipe(root: Path, regime="mix_separate", sources=1, steps=4) -> Path:
    path = root / f"{regime}-{steps}.toml"
    path.write_text(RECIPE.format(regime=regime, sources=sources, steps=steps))
    return path


def _written_elsewhere(text: str, root: Path, path: Path) -> Path:
    """Write recipe ``text`` to ``path`` outside ``root``, its data paths made absolute."""
    path.write_text(text.replace('"corpus"', f'"{root / "corpus"}"').replace('"valset"', f'"{root / "valset"}"'))
    return path


def test_recipe_errors_name_the_problem(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('regime = "magic"\n[data]\ncorpora=["x"]\n')
    with pytest.raises(RecipeError, match="regime must be one of"):
        load_recipe(bad)
    bad.write_text('regime = "weak"\n[data]\ncorpora=["x"]\nbogus = 1\n')
    with pytest.raises(RecipeError, match=r"data: unknown key\(s\) \['bogus'\]"):
        load_recipe(bad)
    bad.write_text('regime = "supervised"\n[data]\ncorpora=["x"]\nsources_per_part = 2\n')
    with pytest.raises(RecipeError, match="single sources"):
        load_recipe(bad)
    bad.write_text('regime = "nit"\n[data]\ncorpora=["x"]\n')
    with pytest.raises(RecipeError, match="learned_queries"):
        load_recipe(bad)
    bad.write_text('regime = "weak"\n[data]\ncorpora=["x"]\n[loss]\nsemantic = -0.5\n')
    with pytest.raises(RecipeError, match=r"bad\.toml\.loss: semantic = -0\.5: expected a number >= 0"):
        load_recipe(bad)
    with pytest.raises(RecipeError, match="no such recipe"):
        load_recipe(tmp_path / "missing.toml")


def test_short_run_writes_checkpoint_log_plot_and_best_model(workspace, tmp_path):
    progress = train(load_recipe(_recipe(workspace)), tmp_path / "run", progress_bar=False)
    assert progress.step == 4
    run = tmp_path / "run"
    assert {"checkpoint", "best", "log.csv", "training.png"} <= {p.name for p in run.iterdir()}
    rows = list(csv.DictReader((run / "log.csv").open()))
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4] and rows[-1]["val_sdri"] != ""
    stems = Separator.load(run / "best", "cpu").separate(_mix(workspace), ["a violin"])
    assert set(stems) == {"a violin", "rest"}


def test_snapshots_keep_the_model_of_every_nth_step(workspace, tmp_path):
    text = _recipe(workspace, steps=4).read_text().replace("log_every = 1", "log_every = 1\nkeep_every = 3")
    recipe = _written_elsewhere(text, workspace, tmp_path / "keep.toml")
    run = tmp_path / "run"
    train(load_recipe(recipe), run, progress_bar=False)
    assert [p.name for p in (run / "snapshots").iterdir()] == ["step-3"]
    snapshot, final = Separator.load(run / "snapshots" / "step-3", "cpu"), Separator.load(run / "checkpoint", "cpu")
    differs = [not torch.equal(a, b) for a, b in zip(snapshot.network.parameters(), final.network.parameters())]
    assert any(differs)  # step 3's weights, not the final ones
    recipe.write_text(recipe.read_text().replace("keep_every = 3", "keep_every = -1"))
    with pytest.raises(RecipeError, match="keep_every must be >= 0"):
        load_recipe(recipe)


def _mix(root: Path) -> Path:
    return next((root / "valset").rglob("*.wav"))


def test_mixit_run_validates_with_oracle_slots(workspace, tmp_path):
    text = _recipe(workspace, "mixit", 2, 4).read_text().replace("fusion_maps = 4", "fusion_maps = 4\nlearned_queries = 3")
    recipe = _written_elsewhere(text, workspace, tmp_path / "mixit.toml")
    train(load_recipe(recipe), tmp_path / "run", progress_bar=False)
    rows = list(csv.DictReader((tmp_path / "run" / "log.csv").open()))
    assert rows[-1]["val_sdri"] != "" and rows[-1]["val_absent_db"] == ""  # query-free: no absent queries


def test_absent_queries_train_and_best_model_is_picked_by_validation_sdri_alone(workspace, tmp_path):
    text = _recipe(workspace, steps=4).read_text().replace(
        "validation_limit = 2", "validation_limit = 2\nabsent_fraction = 0.5\nparaphrase_fraction = 0.5").replace(
        "validate_every = 4", "validate_every = 1\nkeep_every = 1")
    run = tmp_path / "run"
    train(load_recipe(_written_elsewhere(text, workspace, tmp_path / "absent.toml")), run, progress_bar=False)
    rows = list(csv.DictReader((run / "log.csv").open()))
    assert all(r["val_sdri"] != "" and float(r["val_absent_db"]) <= 10.0 for r in rows)
    sdri = [float(r["val_sdri"]) for r in rows]
    best_step = sdri.index(max(sdri)) + 1
    best, kept = Separator.load(run / "best", "cpu"), Separator.load(run / "snapshots" / f"step-{best_step}", "cpu")
    assert all(torch.equal(a, b) for a, b in zip(best.network.parameters(), kept.network.parameters()))


def test_an_older_log_gains_the_new_columns_on_resume(tmp_path):
    from soundsift.training.step_loop import LOG_FIELDS, TrainingLog

    log = tmp_path / "log.csv"
    log.write_text("step,loss,lr,elapsed_s,val_sdri\n1,0.5,0.001,1.0,\n2,0.4,0.001,2.0,3.5\n")
    TrainingLog(log, resumed_step=2).write(step=3, loss=0.3, val_absent_db=-25.0)
    rows = list(csv.DictReader(log.open()))
    assert list(rows[0]) == list(LOG_FIELDS) and rows[1]["val_sdri"] == "3.5" and rows[2]["val_absent_db"] == "-25.0"


def test_resume_continues_from_the_last_checkpoint(workspace, tmp_path):
    run = tmp_path / "run"
    train(load_recipe(_recipe(workspace, steps=2)), run, progress_bar=False)
    assert train(load_recipe(_recipe(workspace, steps=4)), run, resume=True, progress_bar=False).step == 4
    steps = [int(r["step"]) for r in csv.DictReader((run / "log.csv").open())]
    assert steps == [1, 2, 3, 4]



def test_cosine_schedule_is_a_function_of_the_step():
    from soundsift.training.recipe import OptimRecipe

    assert {OptimRecipe(lr=0.01).lr_at(s) for s in (0, 500, 999)} == {0.01}
    optim = OptimRecipe(steps=1000, lr=0.01, schedule="cosine", decay_start=200, final_lr=0.001)
    rates = [optim.lr_at(s) for s in range(1000)]
    assert rates[:201] == pytest.approx([0.01] * 201) and optim.lr_at(1000) == pytest.approx(0.001)
    assert all(a >= b - 1e-12 for a, b in itertools.pairwise(rates)) and rates[600] == pytest.approx(0.0055)
    with pytest.raises(ValueError, match="schedule must be one of"):
        OptimRecipe(schedule="step")
    with pytest.raises(ValueError, match="decay_start"):
        OptimRecipe(steps=10, schedule="cosine", decay_start=10)


def test_warm_restarts_repeat_the_decay_from_each_restart():
    from soundsift.training.recipe import OptimRecipe

    single = OptimRecipe(steps=300, lr=0.01, schedule="cosine", decay_start=100, final_lr=0.001)
    cycled = OptimRecipe(steps=500, lr=0.01, schedule="cosine", decay_start=100, final_lr=0.001, restarts=(300,))
    assert [cycled.lr_at(s) for s in range(300)] == pytest.approx([single.lr_at(s) for s in range(300)])
    assert cycled.lr_at(299) < 0.0011 and cycled.lr_at(300) == pytest.approx(0.01)
    assert cycled.lr_at(400) == pytest.approx(0.0055) and cycled.lr_at(500) == pytest.approx(0.001)
    for bad in ((100,), (400, 350), (500,)):
        with pytest.raises(ValueError, match="restarts"):
            OptimRecipe(steps=500, schedule="cosine", decay_start=100, restarts=bad)


def test_cosine_run_logs_the_schedule(workspace, tmp_path):
    text = _recipe(workspace, steps=4).read_text().replace(
        "log_every = 1", 'log_every = 1\nschedule = "cosine"\ndecay_start = 1\nfinal_lr = 0.0003')
    recipe = workspace / "cosine.toml"
    recipe.write_text(text)
    run, loaded = tmp_path / "run", load_recipe(recipe)
    train(loaded, run, progress_bar=False)
    rows = list(csv.DictReader((run / "log.csv").open()))
    optim = loaded.optim
    assert [float(r["lr"]) for r in rows] == pytest.approx([optim.lr_at(s) for s in range(4)])
    assert float(rows[0]["lr"]) == 0.003 > float(rows[-1]["lr"])


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "soundsift", *args]


def test_kill_loses_at_most_one_checkpoint_interval(workspace, tmp_path):
    run = tmp_path / "run"
    recipe = _recipe(workspace, steps=400)
    proc = subprocess.Popen(_cli("train", "separator", "--recipe", str(recipe), "--run-dir", str(run)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    state = run / "checkpoint" / "trainer.json"
    deadline = time.monotonic() + 600  # generous: a loaded machine starts the subprocess slowly
    while time.monotonic() < deadline and not (state.exists() and json.loads(state.read_text())["step"] >= 4):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    saved = json.loads(state.read_text())["step"]
    logged = max(int(r["step"]) for r in csv.DictReader((run / "log.csv").open()))
    # checkpoint_every = 2: a kill while step k's checkpoint is being written leaves k logged and k - 2 saved
    assert saved >= 4 and logged - saved <= 2
    short = _recipe(workspace, steps=saved + 2)
    result = subprocess.run(_cli("train", "separator", "--recipe", str(short), "--run-dir", str(run), "--resume"),
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(state.read_text())["step"] == saved + 2
    steps = [int(r["step"]) for r in csv.DictReader((run / "log.csv").open())]
    assert steps == list(range(1, saved + 3))


def test_two_process_ddp_on_gloo(workspace, tmp_path):
    run = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533",
           "-m", "soundsift", "train", "separator", "--recipe", str(_recipe(workspace, "mix_separate", 2, 3)),
           "--run-dir", str(run), "--device", "cpu"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((run / "checkpoint" / "trainer.json").read_text())["step"] == 3
    Separator.load(run / "checkpoint", "cpu")


def test_labelled_subset_is_seeded_and_keeps_every_class(workspace):
    from soundsift.training.batches import labelled_subset
    from soundsift.training.data.mixtures import ClipPool

    pool = ClipPool.from_corpora([workspace / "corpus"], "train")
    a, b = labelled_subset(pool, 0.5, 1), labelled_subset(pool, 0.5, 1)
    assert [c.path for c in a.clips] == [c.path for c in b.clips]
    assert a.labels == pool.labels and len(a.clips) == len(pool.labels)
    assert labelled_subset(pool, 1.0, 0) is pool


def test_semi_batches_open_with_a_fixed_number_of_labelled_items(workspace):
    import numpy as np

    from soundsift.training.batches import BatchSource
    from soundsift.training.recipe import DataRecipe

    data = DataRecipe(corpora=(str(workspace / "corpus"),), sources_per_part=2, seconds=0.5, single_fraction=0.5)
    for fraction, size, singles in ((0.5, 4, 2), (0.1, 4, 1), (0.0, 4, 0), (1.0, 3, 3)):
        source = BatchSource(dataclasses.replace(data, single_fraction=fraction), 16000, size)
        batch = source.next(np.random.default_rng(0))
        assert batch.single.all(dim=1).tolist() == [True] * singles + [False] * (size - singles)
        assert all(len(split_caption(c)) == 2 for item in batch.captions[singles:] for c in item)


def test_builtin_recipes_cover_every_regime_and_parse(tmp_path, monkeypatch):
    from soundsift.training.recipe import builtin_recipes
    from soundsift.training.regimes import REGIMES

    monkeypatch.chdir(tmp_path)
    assert set(builtin_recipes()) == set(REGIMES) | {"default-model", "default-model-v2", "default-model-v3",
                                                     "zero-shot", "zero-shot-self"}
    for name in REGIMES:
        recipe = load_recipe(name)
        assert recipe.regime == name and recipe.data.corpora == (str(tmp_path / "data" / "music"),)
    default = load_recipe("default-model")
    assert default.regime == "supervised" and default.data.category_weights == {"music": 2.5}
    assert default.data.corpora == tuple(str(tmp_path / "data" / c) for c in ("music", "speech", "sfx"))
    v2 = load_recipe("default-model-v2")
    assert v2.model.network == default.model.network and v2.optim.schedule == "cosine"
    assert {"music", "speech", "sfx", "realspeech"} <= {Path(c).name for c in v2.data.corpora}
    assert v2.data.absent_fraction > 0 and v2.data.paraphrase_fraction > 0 and v2.data.sim_to_real > 0
    assert v2.data.validation == str(tmp_path / "data" / "val-v2")
    v3 = load_recipe("default-model-v3")  # v2's with the retrained (now shipped) encoder, warm-started across encoders
    assert (v3.data, v3.optim, v3.loss, v3.model.network) == (v2.data, v2.optim, v2.loss, v2.model.network)
    assert v3.init_from == "default" and v3.init_across_encoders and not v2.init_across_encoders
    assert v3.model.encoder == v2.model.encoder and not v3.model.encoder.options.get("weights")
    zero_shot, zero_shot_self = load_recipe("zero-shot"), load_recipe("zero-shot-self")  # differ in one setting only
    assert (zero_shot.data.audio_query_source, zero_shot_self.data.audio_query_source) == ("other", "self")
    assert dataclasses.replace(zero_shot_self.data, audio_query_source="other") == zero_shot.data
    assert (zero_shot_self.model.network, zero_shot_self.optim) == (zero_shot.model.network, zero_shot.optim)


def test_default_model_v2_recipe_runs_on_a_tiny_corpus(workspace, tmp_path):
    v2 = load_recipe("default-model-v2")
    data = dataclasses.replace(v2.data, corpora=(str(workspace / "corpus"),), validation=str(workspace / "valset"),
                               validation_limit=2)
    optim = dataclasses.replace(v2.optim, steps=2, decay_start=0, validate_every=2, checkpoint_every=2, keep_every=2)
    bundled_default = str(BUNDLED_DIR / "default")  # the tests' model store is empty: name the shipped folder
    train(dataclasses.replace(v2, data=data, optim=optim, init_from=bundled_default), tmp_path / "run",
          progress_bar=False)
    rows = list(csv.DictReader((tmp_path / "run" / "log.csv").open()))
    assert rows[-1]["step"] == "2" and rows[-1]["val_sdri"] != "" and rows[-1]["val_absent_db"] != ""


def test_weak_recipes_need_as_many_clauses_as_sources_per_part():
    from soundsift.training.recipe import parse_recipe

    with pytest.raises(RecipeError, match="loss.clauses = 2 is below data.sources_per_part = 3"):
        parse_recipe({"regime": "weak", "data": {"corpora": ["c"], "sources_per_part": 3}})
    assert parse_recipe({"regime": "weak", "data": {"corpora": ["c"], "sources_per_part": 3},
                         "loss": {"clauses": 3}}).loss.clauses == 3
