"""The paper-table bench: its rows, budgets and overrides, and a short run that resumes."""
from __future__ import annotations

import dataclasses

import pytest

from research.data.testset import TestsetSettings, build_testset
from soundsift.errors import SoundsiftError
from tests.train_corpus import make_corpus


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    corpus = make_corpus(root / "corpus")
    build_testset(root / "valset", TestsetSettings(corpora=(str(corpus),), mixtures=2), progress=False)
    return root


def test_weak_rows_pad_captions_to_as_many_clauses_as_sources(tmp_path):
    from research.bench import BUDGETS, ROWS, row_recipe

    for row in ROWS:
        recipe = row_recipe(row, BUDGETS["small"], tmp_path, None, 0)
        if recipe.regime in ("weak", "semi"):
            assert recipe.loss.clauses == max(2, row.sources_per_part), row.name
        labelled = recipe.optim.batch_size * (recipe.data.single_fraction or 1.0)
        assert labelled == BUDGETS["small"].batch_size, row.name  # every row sees as many labelled items


def test_every_budget_can_be_named_on_the_command_line_and_medium_only_trains_longer():
    from research.bench import BUDGETS
    from research.cli import build_parser

    parser = build_parser()
    for name in BUDGETS:
        args = parser.parse_args(["bench", "--budget", name])
        assert args.budget == name
    small, medium = BUDGETS["small"], BUDGETS["medium"]
    assert medium.steps == 3 * small.steps
    assert dataclasses.replace(medium, steps=small.steps, validate_every=small.validate_every) == small


def test_bench_loss_overrides_reach_every_row_and_bad_ones_are_named(tmp_path):
    from research.bench import BUDGETS, ROWS, row_recipe

    for row in ROWS:
        recipe = row_recipe(row, BUDGETS["small"], tmp_path, None, 0, {"semantic": 5, "clauses": 2})
        assert recipe.loss.semantic == 5.0 and isinstance(recipe.loss.semantic, float), row.name
        assert recipe.loss.clauses == max(2, row.sources_per_part), row.name  # never below the sources
        assert recipe.loss.consistency == row_recipe(row, BUDGETS["small"], tmp_path, None, 0).loss.consistency
    weak = ROWS[[r.name for r in ROWS].index("weak-2")]
    for bad, message in (({"semantc": 1}, r"unknown key\(s\) \['semantc'\]"), ({"semantic": -1}, "expected a number >= 0"),
                         ({"semantic": "high"}, "semantic.*number"), ({"clauses": 2.5}, "clauses.*whole number")):
        with pytest.raises(SoundsiftError, match=message):
            row_recipe(weak, BUDGETS["small"], tmp_path, None, 0, bad)


def test_bench_optim_overrides_anneal_every_row_and_bad_ones_are_named(tmp_path):
    from research.bench import BUDGETS, ROWS, row_recipe
    from research.cli import build_parser

    args = build_parser().parse_args(["bench", "--optim", "schedule=cosine", "--optim", "decay_start=900"])
    budget = dataclasses.replace(BUDGETS["medium"], steps=1200)
    for row in ROWS:
        optim = row_recipe(row, budget, tmp_path, None, 3, optim=dict(args.optim)).optim
        assert (optim.schedule, optim.decay_start, optim.steps, optim.seed) == ("cosine", 900, 1200, 3), row.name
        assert optim.lr_at(899) == optim.lr and optim.lr_at(1050) == pytest.approx(optim.lr / 2), row.name
    weak = ROWS[[r.name for r in ROWS].index("weak-2")]
    for bad, message in (({"steps": 5}, r"\['steps'\] set by the budget"), ({"seed": 1}, r"\['seed'\] set by"),
                         ({"shedule": "cosine"}, r"--optim: unknown key\(s\) \['shedule'\]"),
                         ({"schedule": "cosine", "decay_start": 1200}, r"--optim: decay_start must be in \[0, steps\)")):
        with pytest.raises(SoundsiftError, match=message):
            row_recipe(weak, budget, tmp_path, None, 0, optim=bad)


def test_saved_bench_rows_match_recipes_that_only_add_settings_that_are_off():
    from research.bench import same_recipe

    saved = {"regime": "weak", "data": {"parts": 2, "gain_db": 5.0}}
    assert same_recipe(saved, {"regime": "weak", "data": {"parts": 2, "gain_db": 5.0, "query_noise": 0.0}})
    assert not same_recipe(saved, {"regime": "weak", "data": {"parts": 2, "gain_db": 5.0, "query_noise": 0.5}})
    assert not same_recipe(saved, {"regime": "weak", "data": {"parts": 3, "gain_db": 5.0}})
    assert not same_recipe(saved, {"regime": "weak", "data": {"parts": 2}})


def test_bench_trains_scores_and_resumes(workspace, tmp_path, monkeypatch):
    from research.bench import format_results, run_bench

    out = tmp_path / "bench"
    rows = ["supervised", "mixit"]
    results = run_bench(out, workspace / "corpus", workspace / "valset", rows=rows, steps=2, limit=1)
    assert set(results) == set(rows) and all(r["count"] == 2 for r in results.values())
    assert "| supervised |" in format_results(results)
    monkeypatch.setattr("research.bench.train", lambda *a, **k: pytest.fail("row retrained"))
    assert run_bench(out, workspace / "corpus", workspace / "valset", rows=rows, steps=2, limit=1) == results
    for changed in ({"steps": 3}, {"steps": 2, "batch_size": 3}, {"steps": 2, "loss": {"reconstruction": 1.0}},
                    {"steps": 2, "optim": {"lr": 1e-4}}):
        with pytest.raises(SoundsiftError, match=r"supervised\.json: row 'supervised' was trained from another recipe"):
            run_bench(out, workspace / "corpus", workspace / "valset", rows=rows, limit=1, **changed)


def test_rows_can_train_with_other_compact_clap_weights(tmp_path):
    from research.bench import BUDGETS, ROWS, recipe_fingerprint, row_recipe

    weak = ROWS[[r.name for r in ROWS].index("weak-2")]
    shipped = row_recipe(weak, BUDGETS["small"], tmp_path, None, 0)
    other = row_recipe(weak, BUDGETS["small"], tmp_path, None, 0, encoder_weights=tmp_path / "clap" / "encoder")
    assert shipped.model.encoder.options.get("weights", "") == ""
    assert other.model.encoder.options["weights"] == str(tmp_path / "clap" / "encoder")
    assert other.model.encoder.name == shipped.model.encoder.name
    assert recipe_fingerprint(other) != recipe_fingerprint(shipped)  # rows of another encoder are never reused
