"""Training recipes: one TOML file says what to train, on what, how long, under which regime.

```toml
name = "weak-2src"
regime = "weak"                      # supervised | mix_separate | weak | semi | nit | mixit
# extends = "weak"                   # start from another recipe (a built-in name or a file) and change
                                     # only what is written here: tables merge key by key

[model]
# init_from = "default"              # start from this model's weights (a name or folder, as --model); it must
                                     # have the network, STFT and query encoder below (warm_start.py)
# init_across_encoders = false       # true: the model may have another query encoder of the same sizes;
                                     # its weights are kept and training adapts them to this encoder
[model.network]                      # soundsift.core.NetworkConfig fields
base_channels = 16
[model.encoder]                      # soundsift.core.EncoderSpec (name, options)
name = "compact"

[data]
corpora = ["data/music"]             # corpus folders (manifest.jsonl); relative to the recipe file
sources_per_part = 2                 # sources in each captioned part x_n (1: single sources)
parts = 2                            # N: the network hears x = x_1 + ... + x_N
seconds = 4.0
validation = "data/music-test"       # a test set folder for validation SDR (optional)
audio_query_fraction = 0.0           # query single-source parts by an audio clip of their class, this often
audio_query_source = "other"         # that clip: "other" (another clip of the class) or "self" (the part itself)
augment_speed = 0.0                  # play each part at a random rate in [1 - x, 1 + x] (0: off)
augment_eq_db = 0.0                  # and through a smooth random equaliser of up to x dB (0: off)
sim_to_real = 0.0                    # pass this share of parts through a simulated recording chain (0: off)
query_noise = 0.0                    # move each part's query embedding by a random vector of this length (0: off)
query_blend = 0.0                    # mix up to this share of another part's query into each part's query (0: off)
exclude_classes = []                 # class labels held out of training entirely (zero-shot evaluation)
absent_fraction = 0.0                # this share of items also asks for a class not in the mixture (target: silence)
paraphrase_fraction = 0.0            # query single-source parts and absent classes by a held-in wording this often

[optim]
steps = 2000
batch_size = 8
lr = 1e-3
schedule = "constant"                # or "cosine": from lr at decay_start down to final_lr at the last step
restarts = []                        # cosine: steps where the rate goes back up to lr (warm restarts)
keep_every = 0                       # keep the model every N steps in snapshots/step-N/ (0: off)

[loss]                               # soundsift.training.regimes.LossWeights fields
clauses = 2                          # P: clauses per caption (weak, semi); at least sources_per_part
```
"""
from __future__ import annotations

import dataclasses
import itertools
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from soundsift.core.config import EncoderSpec, ModelConfig, NetworkConfig, STFTConfig
from soundsift.core.fields import check_values
from soundsift.errors import SoundsiftError
from soundsift.training.recipe_names import BUILTIN_DIR, builtin_recipes
from soundsift.training.regimes import REGIMES, LossWeights
from soundsift.training.source_augment import SourceAugmentation

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


class RecipeError(SoundsiftError):
    """A recipe file is missing, malformed, or names values soundsift does not know."""


# where an audio query comes from in training: another clip of the part's class, or the part's own audio
AUDIO_QUERY_SOURCES = frozenset({"other", "self"})


@dataclass(frozen=True)
class DataRecipe:
    """Where training examples come from and how they are mixed."""

    corpora: tuple[str, ...] = ()
    categories: tuple[str, ...] | None = None
    sources_per_part: int = 1
    parts: int = 2
    seconds: float = 4.0
    gain_db: float = 5.0
    single_fraction: float = 0.0
    labelled_fraction: float = 1.0
    category_weights: dict[str, float] | None = None
    subset_seed: int = 0
    validation: str | None = None
    validation_limit: int = 16
    audio_query_fraction: float = 0.0
    audio_query_source: str = "other"
    exclude_classes: tuple[str, ...] = ()
    augment_speed: float = 0.0
    augment_eq_db: float = 0.0
    sim_to_real: float = 0.0
    query_noise: float = 0.0
    query_blend: float = 0.0
    absent_fraction: float = 0.0
    paraphrase_fraction: float = 0.0

    def __post_init__(self) -> None:
        SourceAugmentation(self.augment_speed, self.augment_eq_db)  # raises ValueError on a bad range
        if not 0.0 <= self.sim_to_real <= 1.0:
            raise ValueError(f"sim_to_real must be in [0, 1] (the share of parts sent through a chain), got {self.sim_to_real}")
        if not 0.0 <= self.query_noise <= 2.0:
            raise ValueError(f"query_noise must be in [0, 2] (a length next to unit embeddings), got {self.query_noise}")
        if not 0.0 <= self.query_blend < 1.0:
            raise ValueError(f"query_blend must be in [0, 1) (the largest share of another query), got {self.query_blend}")
        for name in ("audio_query_fraction", "absent_fraction", "paraphrase_fraction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.audio_query_source not in AUDIO_QUERY_SOURCES:
            raise ValueError(f"audio_query_source must be one of {sorted(AUDIO_QUERY_SOURCES)}, "
                             f"got {self.audio_query_source!r}")
        if isinstance(self.exclude_classes, str) or not all(isinstance(c, str) for c in self.exclude_classes):
            raise ValueError(f"exclude_classes must be a list of class labels, got {self.exclude_classes!r}")

    @property
    def augmentation(self) -> SourceAugmentation:
        """The random changes made to each part before mixing (docs/training.md)."""
        return SourceAugmentation(self.augment_speed, self.augment_eq_db)


SCHEDULES = {"constant", "cosine"}


@dataclass(frozen=True)
class OptimRecipe:
    """Optimisation, checkpointing and logging cadence."""

    steps: int = 1000
    batch_size: int = 8
    lr: float = 1e-3
    weight_decay: float = 0.0
    grad_clip: float = 5.0
    seed: int = 0
    checkpoint_every: int = 100
    validate_every: int = 500
    log_every: int = 10
    schedule: str = "constant"  # or "cosine": lr until decay_start, then a half cosine down to final_lr at steps
    decay_start: int = 0
    final_lr: float = 0.0
    restarts: tuple[int, ...] = ()  # cosine only: steps where the rate jumps back to lr and decays again
    keep_every: int = 0  # also keep the model of every this-many steps in snapshots/step-N/ (0: off)

    def __post_init__(self) -> None:
        if self.keep_every < 0:
            raise ValueError(f"keep_every must be >= 0 (0 keeps no snapshots), got {self.keep_every}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {sorted(SCHEDULES)}, got {self.schedule!r}")
        if not 0 <= self.decay_start < self.steps:
            raise ValueError(f"decay_start must be in [0, steps), got {self.decay_start} with steps = {self.steps}")
        bounds = (self.decay_start, *self.restarts, self.steps)
        if any(b <= a for a, b in itertools.pairwise(bounds)):
            raise ValueError(f"restarts must rise strictly between decay_start and steps, got {list(self.restarts)}")

    def lr_at(self, step: int) -> float:
        """The learning rate of optimizer step ``step`` (0-based); a pure function of the step, so resuming keeps it.

        With ``restarts`` the decay is cut into cycles (decay_start, r1), (r1, r2), ... (rk, steps),
        each a half cosine from ``lr`` to ``final_lr`` (warm restarts, as in SGDR).
        """
        if self.schedule == "constant" or step < self.decay_start:
            return self.lr
        start = max(b for b in (self.decay_start, *self.restarts) if b <= step)
        end = min((b for b in (*self.restarts, self.steps) if b > step), default=self.steps)
        done = min(1.0, (step - start) / (end - start))
        return self.final_lr + (self.lr - self.final_lr) * 0.5 * (1.0 + math.cos(math.pi * done))


@dataclass(frozen=True)
class Recipe:
    """A complete training recipe."""

    name: str
    regime: str
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataRecipe = field(default_factory=DataRecipe)
    optim: OptimRecipe = field(default_factory=OptimRecipe)
    loss: LossWeights = field(default_factory=LossWeights)
    init_from: str | None = None  # a model name or folder whose weights the network starts from (warm start)
    init_across_encoders: bool = False  # the init_from model may have been trained with another query encoder


def _table(data: Any, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise RecipeError(f"{where}: expected a table, got {data!r}")
    return data


def _build(cls: type, data: Any, where: str) -> Any:
    """Dataclass ``cls`` from a TOML table, each value checked against its field's type first; errors name the key."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(_table(data, where)) - names)
    if unknown:
        raise RecipeError(f"{where}: unknown key(s) {unknown}; known: {sorted(names)}")
    try:
        check_values(cls, data)
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})
    except (TypeError, ValueError) as exc:
        raise RecipeError(f"{where}: {exc}") from None


def loss_weights(table: dict[str, Any], where: str) -> LossWeights:
    """A ``[loss]`` table as :class:`LossWeights`, with errors naming ``where`` and the key."""
    return _build(LossWeights, table, where)


def optim_settings(table: dict[str, Any], where: str) -> OptimRecipe:
    """An ``[optim]`` table as :class:`OptimRecipe`, with errors naming ``where`` and the key."""
    return _build(OptimRecipe, table, where)


def _model(data: Any, where: str) -> ModelConfig:
    unknown = sorted(set(_table(data, f"{where}.model")) - {"network", "encoder", "stft", "description", "init_from",
                                                             "init_across_encoders"})
    if unknown:
        raise RecipeError(f"{where}.model: unknown key(s) {unknown}")
    encoder = {"options": {}, **_table(data.get("encoder", {}), f"{where}.model.encoder")}
    spec = _build(EncoderSpec, {k: v for k, v in encoder.items() if k in ("name", "options")}, f"{where}.model.encoder")
    try:
        return ModelConfig(
            stft=_build(STFTConfig, data.get("stft", {}), f"{where}.model.stft"),
            network=_build(NetworkConfig, data.get("network", {}), f"{where}.model.network"),
            encoder=spec,
            description=data.get("description", ""),
        )
    except ValueError as exc:
        raise RecipeError(f"{where}.model: {exc}") from None


def _resolve(path: str | None, base: Path) -> str | None:
    if path is None:
        return None
    p = Path(path).expanduser()
    return str(p if p.is_absolute() else (base / p))


def _init_from(value: Any, where: str, base: Path) -> str | None:
    """``[model] init_from``: a model name is kept for the model store; a folder (one with a path separator,
    or starting with '.' or '~') is taken from ``base`` like the data paths."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise RecipeError(f"{where}.model: init_from must be a model name or folder, got {value!r}")
    is_folder = "/" in value or os.sep in value or value.startswith((".", "~"))
    return _resolve(value, base) if is_folder else value


def _across_encoders(model: dict[str, Any], where: str) -> bool:
    """``[model] init_across_encoders``: a boolean that only means something beside ``init_from``."""
    value = model.get("init_across_encoders", False)
    if not isinstance(value, bool):
        raise RecipeError(f"{where}.model: init_across_encoders must be true or false, got {value!r}")
    if value and model.get("init_from") is None:
        raise RecipeError(f"{where}.model: init_across_encoders needs init_from (the model to start from)")
    return value


def parse_recipe(data: dict[str, Any], where: str = "recipe", base: Path | None = None) -> Recipe:
    """Build a :class:`Recipe` from a parsed TOML document; relative paths are taken from ``base``."""
    allowed = {"name", "regime", "model", "data", "optim", "loss"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise RecipeError(f"{where}: unknown top-level key(s) {unknown}")
    if not isinstance(data.get("name", "run"), str):
        raise RecipeError(f"{where}: name must be text, got {data['name']!r}")
    regime = data.get("regime")
    if regime not in REGIMES:
        raise RecipeError(f"{where}: regime must be one of {sorted(REGIMES)}, got {regime!r}")
    base = base or Path.cwd()
    dataset = _build(DataRecipe, data.get("data", {}), f"{where}.data")
    dataset = dataclasses.replace(
        dataset,
        corpora=tuple(_resolve(c, base) or c for c in dataset.corpora),
        validation=_resolve(dataset.validation, base),
    )
    if not dataset.corpora:
        raise RecipeError(f"{where}.data: 'corpora' must list at least one corpus folder")
    if regime == "supervised" and dataset.sources_per_part != 1:
        raise RecipeError(f"{where}: the supervised regime needs data.sources_per_part = 1 (single sources)")
    loss = loss_weights(data.get("loss", {}), f"{where}.loss")
    if regime in ("weak", "semi") and loss.clauses < dataset.sources_per_part:
        raise RecipeError(
            f"{where}: loss.clauses = {loss.clauses} is below data.sources_per_part = {dataset.sources_per_part}; "
            "captions of that many sources would be cut to fewer clauses than they name"
        )
    model = _model(data.get("model", {}), where)
    if regime in ("nit", "mixit") and dataset.absent_fraction > 0:
        raise RecipeError(f"{where}: data.absent_fraction needs a regime that queries by caption, not {regime}")
    if regime in ("nit", "mixit") and model.network.learned_queries < 1:
        raise RecipeError(f"{where}: the {regime} regime needs model.network.learned_queries >= 1 (noise heads / slots)")
    if regime == "nit" and model.network.learned_queries % dataset.parts:
        raise RecipeError(f"{where}: the nit regime shares its noise heads equally among the parts; "
                          f"model.network.learned_queries = {model.network.learned_queries} is not a multiple of "
                          f"data.parts = {dataset.parts}")
    return Recipe(
        name=data.get("name", "run"),
        regime=regime,
        model=model,
        data=dataset,
        optim=optim_settings(data.get("optim", {}), f"{where}.optim"),
        loss=loss,
        init_from=_init_from(data.get("model", {}).get("init_from"), where, base),
        init_across_encoders=_across_encoders(data.get("model", {}), where),
    )


def load_recipe(path: str | Path) -> Recipe:
    """Read and validate a recipe file, or a built-in recipe by name.

    Relative data paths in a file are taken from the file's folder; in a built-in recipe
    from the current directory (where ``python -m research data ...`` writes by default).
    A recipe with ``extends = "OTHER"`` (a built-in name, or a file relative to its own) is
    that recipe with its own keys laid over it: tables merge key by key, other values replace;
    paths are taken as the extending recipe's.
    """
    data, where, base = _recipe_source(path)
    return parse_recipe(_extended(data, where, base, ()), where, base)


def _recipe_source(path: str | Path) -> tuple[dict[str, Any], str, Path]:
    """The TOML data of a built-in recipe name or a recipe file, its name for messages, and its folder for paths."""
    path = Path(path)
    if not path.exists() and path.suffix == "" and str(path) in builtin_recipes():
        builtin = BUILTIN_DIR / f"{path}.toml"
        return tomllib.loads(builtin.read_text(encoding="utf-8")), f"built-in recipe '{path}'", Path.cwd()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecipeError(f"{path}: no such recipe file") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RecipeError(f"{path}: not a readable TOML recipe ({exc})") from None
    return data, str(path), path.parent


def _extended(data: dict[str, Any], where: str, base: Path, chain: tuple[str, ...]) -> dict[str, Any]:
    """``data`` laid over the recipe it ``extends`` (recursively), without the ``extends`` key."""
    parent = data.get("extends")
    if parent is None:
        return data
    if not isinstance(parent, str) or not parent.strip():
        raise RecipeError(f"{where}: extends must name a built-in recipe or a recipe file, got {parent!r}")
    if where in chain or len(chain) > 32:
        raise RecipeError(f"{where}: extends goes round in a circle ({' -> '.join((*chain, where))})")
    reference = parent if parent in builtin_recipes() and not (base / parent).exists() else base / parent
    parent_data, parent_where, parent_base = _recipe_source(reference)
    merged = _laid_over(_extended(parent_data, parent_where, parent_base, (*chain, where)), data)
    merged.pop("extends")
    return merged


def _laid_over(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over``'s keys on ``base``: tables merge key by key, any other value replaces."""
    merged = dict(base)
    for key, value in over.items():
        both_tables = isinstance(value, dict) and isinstance(merged.get(key), dict)
        merged[key] = _laid_over(merged[key], value) if both_tables else value
    return merged
