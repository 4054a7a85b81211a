"""``python -m research bench``: the shape of the paper's Tables 1-2 on our instrument corpus.

One separator architecture is trained under every regime (supervised on single sources;
mix-and-separate and the weak method with 2/3/4-source parts; MixIT; semi-supervised with
5% / 25% labelled single sources, next to supervised training on those 5% / 25% alone) and
each is scored on fixed 2-source test mixtures rendered with a SoundFont held out of
training.  Each row trains into ``OUT/runs/<row>`` and writes ``OUT/rows/<row>.json`` with the
recipe it trained from; rows already scored are skipped, so an interrupted bench resumes
where it stopped, and a row whose recipe has changed since is refused rather than reused.
"""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from soundsift.errors import SoundsiftError
from soundsift.separator import Separator
from soundsift.training import evaluate as ev
from soundsift.training.recipe import OptimRecipe, Recipe, load_recipe, loss_weights, optim_settings
from soundsift.training.regimes import LossWeights
from soundsift.training.trainer import train

PAPER_MUSIC_SDR = {  # Mahmud et al. 2024, MUSIC 2-source test, SDR (dB)
    "supervised": 8.1, "mix_separate-2": 5.5, "mix_separate-3": 4.3, "mix_separate-4": 3.5,
    "weak-2": 7.9, "weak-3": 7.1, "weak-4": 6.2, "semi-5%": 8.8,
}


@dataclass(frozen=True)
class Budget:
    """How much training each row gets."""

    steps: int
    batch_size: int
    base_channels: int
    depth: int
    seconds: float
    validate_every: int
    decoder_width: float = 1.0
    late_fusion: bool = False


BUDGETS = {
    # late fusion and a half-width decoder keep the many-query weak rows near an hour in all on 2 CPU cores
    "small": Budget(steps=300, batch_size=6, base_channels=8, depth=4, seconds=2.0, validate_every=300,
                    decoder_width=0.5, late_fusion=True),
    # the small rows trained three times as long, to see whether the weak rows' L_CNT gains with training time
    "medium": Budget(steps=900, batch_size=6, base_channels=8, depth=4, seconds=2.0, validate_every=900,
                     decoder_width=0.5, late_fusion=True),
    "large": Budget(steps=20000, batch_size=16, base_channels=16, depth=5, seconds=4.0, validate_every=1000),
}


@dataclass(frozen=True)
class Row:
    """One line of the table: a built-in recipe and the data changes that define the row."""

    name: str
    recipe: str
    sources_per_part: int
    labelled_fraction: float = 1.0
    single_fraction: float = 0.0


ROWS = (
    Row("supervised", "supervised", 1),
    Row("supervised-5%", "supervised", 1, labelled_fraction=0.05),
    Row("supervised-25%", "supervised", 1, labelled_fraction=0.25),
    Row("mix_separate-2", "mix_separate", 2),
    Row("mix_separate-3", "mix_separate", 3),
    Row("mix_separate-4", "mix_separate", 4),
    Row("mixit", "mixit", 2),
    Row("nit", "nit", 2),
    Row("weak-2", "weak", 2),
    Row("weak-3", "weak", 3),
    Row("weak-4", "weak", 4),
    Row("semi-5%", "semi", 2, labelled_fraction=0.05, single_fraction=0.5),
    Row("semi-25%", "semi", 2, labelled_fraction=0.25, single_fraction=0.5),
)


def loss_with(weights: LossWeights, overrides: Mapping[str, object]) -> LossWeights:
    """``weights`` with some ``[loss]`` fields replaced (``bench --loss KEY=VALUE``),
    checked as a recipe's ``[loss]`` table is."""
    return loss_weights({**dataclasses.asdict(weights), **overrides}, "--loss")


def optim_with(optim: OptimRecipe, bench: Mapping[str, object], overrides: Mapping[str, object]) -> OptimRecipe:
    """``optim`` with the fields the bench sets (``bench``) and some others replaced (``bench
    --optim KEY=VALUE``), checked as a recipe's ``[optim]`` table is; overriding the bench's own is refused."""
    taken = sorted(set(overrides) & set(bench))
    if taken:
        raise SoundsiftError(f"--optim: {taken} set by the budget or by --steps / --batch-size / --seed, not --optim")
    return optim_settings({**dataclasses.asdict(optim), **bench, **overrides}, "--optim")


def row_recipe(row: Row, budget: Budget, corpus: Path, validation: Path | None, seed: int,
               loss: Mapping[str, object] | None = None, optim: Mapping[str, object] | None = None,
               encoder_weights: Path | None = None) -> Recipe:
    """The built-in recipe of ``row`` resized to the budget and pointed at the given data,
    with ``loss`` and ``optim`` overriding fields of its ``[loss]`` and ``[optim]`` tables and
    ``encoder_weights`` (a ``python -m research clap`` weights folder) replacing the shipped
    compact CLAP weights."""
    base = load_recipe(row.recipe)
    if encoder_weights is not None:
        spec = base.model.encoder
        encoder = dataclasses.replace(spec, options={**spec.options, "weights": str(encoder_weights)})
        base = dataclasses.replace(base, model=dataclasses.replace(base.model, encoder=encoder))
    network = dataclasses.replace(base.model.network, base_channels=budget.base_channels, depth=budget.depth,
                                  decoder_width=budget.decoder_width, late_fusion=budget.late_fusion)
    data = dataclasses.replace(
        base.data, corpora=(str(corpus),), sources_per_part=row.sources_per_part, seconds=budget.seconds,
        labelled_fraction=row.labelled_fraction, single_fraction=row.single_fraction,
        validation=str(validation) if validation else None,
    )
    # semi rows: as many labelled items per step as the supervised rows have, plus the weak ones
    batch_size = round(budget.batch_size / row.single_fraction) if row.single_fraction else budget.batch_size
    bench = {"steps": budget.steps, "batch_size": batch_size, "seed": seed, "validate_every": budget.validate_every,
             "checkpoint_every": max(1, budget.steps // 10)}
    schedule = optim_with(base.optim, bench, optim or {})
    model = dataclasses.replace(base.model, network=network)
    weights = loss_with(base.loss, loss or {})
    weights = dataclasses.replace(weights, clauses=max(weights.clauses, row.sources_per_part))
    return dataclasses.replace(base, name=row.name, model=model, data=data, optim=schedule, loss=weights)


def score_row(run_dir: Path, recipe: Recipe, testset: Sequence[ev.TestMixture]) -> dict[str, float]:
    """Mean and median SDR / SDRi of the row's best (else final) model on the test set."""
    model_dir = run_dir / "best" if (run_dir / "best").is_dir() else run_dir / "checkpoint"
    separator = Separator.load(model_dir, "cpu")
    estimator = (ev.oracle_slot_estimator(separator.network) if recipe.regime == "mixit"
                 else ev.separator_estimator(separator))
    scores = ev.evaluate(estimator, testset, separator.config.stft)
    sdr = [s.sdr for s in scores]
    sdri = [s.sdri for s in scores]
    return {"sdr_mean": float(np.mean(sdr)), "sdr_median": float(np.median(sdr)),
            "sdri_mean": float(np.mean(sdri)), "sdri_median": float(np.median(sdri)),
            "oracle_sdr_mean": float(np.mean([s.oracle_sdr for s in scores])), "count": len(scores)}


def run_bench(out: Path, corpus: Path, testset_dir: Path, budget: str = "small", rows: Sequence[str] | None = None,
              validation: Path | None = None, seed: int = 0, limit: int | None = None,
              steps: int | None = None, batch_size: int | None = None,
              loss: Mapping[str, object] | None = None,
              optim: Mapping[str, object] | None = None,
              encoder_weights: Path | None = None) -> dict[str, dict[str, float]]:
    """Train and score every requested row; returns ``{row: scores}`` (also saved per row).

    ``loss`` and ``optim`` override ``[loss]`` and ``[optim]`` fields of every row's recipe
    (an ablation of the table, or a learning-rate schedule for all of it); ``encoder_weights``
    trains every row with another compact CLAP (one trained on clips the rows do not mix).
    """
    size = BUDGETS[budget] if steps is None else dataclasses.replace(BUDGETS[budget], steps=steps, validate_every=steps)
    if batch_size is not None:
        size = dataclasses.replace(size, batch_size=batch_size)
    chosen = [r for r in ROWS if rows is None or r.name in rows]
    recipes = [row_recipe(row, size, corpus, validation, seed, loss, optim, encoder_weights) for row in chosen]  # bad settings stop here
    testset = ev.load_testset(testset_dir, limit)
    results: dict[str, dict[str, float]] = {}
    for row, recipe in zip(chosen, recipes):
        result_file = out / "rows" / f"{row.name}.json"
        if result_file.exists():
            results[row.name] = _saved_scores(result_file, recipe)
            continue
        train(recipe, out / "runs" / row.name, resume=True)
        results[row.name] = score_row(out / "runs" / row.name, recipe, testset)
        result_file.parent.mkdir(parents=True, exist_ok=True)
        payload = {"row": dataclasses.asdict(row), "budget": dataclasses.asdict(size), "seed": seed,
                   "recipe": recipe_fingerprint(recipe), "scores": results[row.name]}
        tmp = result_file.with_suffix(".part")
        tmp.write_text(json.dumps(payload, indent=2))
        tmp.replace(result_file)
    return results


def recipe_fingerprint(recipe: Recipe) -> dict:
    """What decides a row's training, as JSON data: the recipe without its data paths (corpora may move)."""
    data = dataclasses.replace(recipe.data, corpora=(), validation=None)
    return json.loads(json.dumps(dataclasses.asdict(dataclasses.replace(recipe, data=data))))


# settings added to soundsift after rows were saved whose defaults compute what the rows computed before
# (the NIT bound only acts in the nit regime, which had no row before it)
ADDED_DEFAULTS = {"form": "project", "noise_reg": 0.1, "noise_threshold": 0.25, "audio_query_source": "other"}


def same_recipe(saved: dict, current: dict) -> bool:
    """Whether a saved fingerprint matches the current one; a setting added to soundsift after
    the row was saved matches when it is off (0, empty, None or False), as new settings start,
    or has the default of :data:`ADDED_DEFAULTS` that keeps the earlier computation."""
    for key, value in current.items():
        if key not in saved:
            if value and ADDED_DEFAULTS.get(key, object()) != value:
                return False
        elif isinstance(value, dict) and isinstance(saved[key], dict):
            if not same_recipe(saved[key], value):
                return False
        elif saved[key] != value:
            return False
    return set(saved) <= set(current)


def _saved_scores(result_file: Path, recipe: Recipe) -> dict[str, float]:
    """A scored row's results, refused when it was trained from another recipe (rows of older
    versions, saved without one, are taken as they are)."""
    payload = json.loads(result_file.read_text())
    if "recipe" in payload and not same_recipe(payload["recipe"], recipe_fingerprint(recipe)):
        raise SoundsiftError(
            f"{result_file}: row '{recipe.name}' was trained from another recipe than this bench now gives it "
            f"(budget, seed or soundsift version changed); move it and {result_file.parent.parent / 'runs' / recipe.name} "
            "away to train the row again"
        )
    return payload["scores"]


def format_results(results: dict[str, dict[str, float]]) -> str:
    """Markdown table with the paper's numbers beside ours, and the headline ratios."""
    lines = ["| row | SDR mean | SDR median | SDRi mean | IRM SDR | paper SDR |", "|---|---|---|---|---|---|"]
    for name, r in results.items():
        paper = PAPER_MUSIC_SDR.get(name)
        lines.append(f"| {name} | {r['sdr_mean']:.2f} | {r['sdr_median']:.2f} | {r['sdri_mean']:.2f} | "
                     f"{r['oracle_sdr_mean']:.2f} | {paper if paper is not None else '–'} |")
    for k in (2, 3, 4):
        weak, mns = results.get(f"weak-{k}"), results.get(f"mix_separate-{k}")
        if weak and mns:
            lines.append(f"\nweak-{k} − mix_separate-{k}: {weak['sdr_mean'] - mns['sdr_mean']:+.2f} dB SDR")
    if "weak-2" in results and "supervised" in results and results["supervised"]["sdr_mean"] > 0:
        ratio = results["weak-2"]["sdr_mean"] / results["supervised"]["sdr_mean"]
        lines.append(f"\nweak-2 / supervised: {100 * ratio:.1f}% of the supervised SDR (paper: 97.5%)")
    return "\n".join(lines)
