"""Fine-tuning a separator on a personal library with the weak method (docs/method.md, docs/finetuning.md).

A run lives in its own folder (``finetune.json`` with the settings, the caption table and
the held-out files; ``captions.csv``; ``checkpoint/`` saved atomically by
:mod:`soundsift.training.state`; ``best/``; ``log.csv``; ``training.png``), so a killed run
resumes exactly where its last checkpoint was.  The result is published as a named model
(weights, config, ``finetune.json``) in the user's model folder.
"""
from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs
import torch
from torch import nn

from soundsift import __version__
from soundsift.core.finetune_info import FINETUNE_FILE, describe_finetune, read_finetune_info
from soundsift.core.store import DEFAULT_MODEL, resolve_model, user_models_dir
from soundsift.durable import replace_folder, write_text
from soundsift.errors import AudioError, CheckpointError, SoundsiftError
from soundsift.model.checkpoint import load_checkpoint, save_checkpoint
from soundsift.model.encoders import QueryEncoder
from soundsift.model.encoders.base import EncoderError
from soundsift.model.network import SeparatorNetwork
from soundsift.separator import Separator, resolve_device
from soundsift.training.captions import split_caption
from soundsift.training.finetune.captions import (
    CaptionTable,
    drop_unusable,
    format_caption_table,
    read_caption_table,
    write_caption_table,
)
from soundsift.training.finetune.forgetting import check_sdri, describe_forgetting, forgetting_report
from soundsift.training.finetune.library import Library, scan_library
from soundsift.training.finetune.name_words import load_name_words
from soundsift.training.finetune.protect import ProtectedLoss, protected_queries
from soundsift.training.finetune.protect_names import DEFAULT_PROTECT, parse_protect
from soundsift.training.finetune.replay import CHECK_MIXTURES, ReplaySource, check_mixtures, combine, find_replay
from soundsift.training.finetune.sampler import (
    LibrarySampler,
    can_mix,
    captioned_clips,
    split_as_saved,
    split_holdout,
)
from soundsift.training.model_vocabulary import finetuned_vocabulary
from soundsift.training.recipe import DataRecipe, OptimRecipe, Recipe, load_recipe
from soundsift.training.regimes import LossWeights, MixtureBatch
from soundsift.training.state import Progress, load_state, save_state
from soundsift.training.step_loop import Books, Cadence, StepLoop, StepReport, TrainingLog, keep_books
from soundsift.vocabulary import Vocabulary, read_vocabulary, write_vocabulary

RUN_FILE = "finetune.json"
WEAK_RECIPE = "weak"  # the weak loss's weights come from this built-in recipe (docs/finetuning.md)
CAPTIONS_FILE = "captions.csv"
# what a run writes in its folder (``--restart`` removes these and nothing else), and its staging names
RUN_ENTRIES = (RUN_FILE, CAPTIONS_FILE, "checkpoint", "best", "log.csv", "training.png")
RUN_STAGING = (".checkpoint.", ".best.", f".{RUN_FILE}.part", f".{CAPTIONS_FILE}.part")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class FinetuneSettings:
    """Everything that decides a fine-tuning run (saved in the run folder, checked on resume)."""

    library: str
    name: str
    captions: str = "best"
    base: str = DEFAULT_MODEL
    steps: int = 500
    batch_size: int = 4
    seconds: float = 3.0
    lr: float = 1e-4
    holdout: float = 0.15
    test_mixtures: int = 16
    replay: tuple[str, ...] = ()
    replay_fraction: float = 0.25
    seed: int = 0
    validate_every: int = 100
    checkpoint_every: int = 25
    log_every: int = 5
    max_clauses: int = 2
    vocabulary: str | None = None
    protect: tuple[str, ...] = DEFAULT_PROTECT
    check_mixtures: int = CHECK_MIXTURES  # the forgetting report's mixtures (0: no report)

    def check(self) -> None:
        """Raise :class:`SoundsiftError` for values no run can use."""
        if not _NAME.match(self.name):
            raise SoundsiftError(f"model name '{self.name}': use letters, digits, '.', '_' or '-' (up to 64)")
        if self.name == DEFAULT_MODEL:
            raise SoundsiftError("the name 'default' belongs to the bundled model; pick another --name")
        for field, value in (("steps", self.steps), ("batch_size", self.batch_size), ("test_mixtures", self.test_mixtures),
                             ("validate_every", self.validate_every), ("checkpoint_every", self.checkpoint_every),
                             ("log_every", self.log_every), ("max_clauses", self.max_clauses)):
            if value < 1:
                raise SoundsiftError(f"{field} must be at least 1, got {value}")
        if not 0.0 <= self.replay_fraction < 1.0:
            raise SoundsiftError(f"replay_fraction must be in [0, 1), got {self.replay_fraction}")
        if self.seconds <= 0 or self.lr <= 0:
            raise SoundsiftError("seconds and lr must be positive")
        parse_protect(",".join(self.protect) or "none")
        if self.check_mixtures < 0:
            raise SoundsiftError(f"check_mixtures must be at least 0, got {self.check_mixtures}")


@dataclass(frozen=True)
class FinetuneEvent:
    """A progress report: ``kind`` is 'message', 'captions' (text = the caption table of a new run),
    'step' (value = loss), 'score' (value = held-out SDRi, dB), 'checkpoint', 'paused' or 'done'."""

    kind: str
    step: int = 0
    steps: int = 0
    value: float = math.nan
    text: str = ""


EventCallback = Callable[[FinetuneEvent], None]


class FinetuneControl:
    """Pause, resume and stop a run from another thread; the run checks it between steps."""

    def __init__(self) -> None:
        self._running = threading.Event()
        self._running.set()
        self._stop = threading.Event()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def wait(self) -> None:
        """Block while paused (returns at once when running or stopped)."""
        while not self._running.wait(0.1):
            pass


@dataclass(frozen=True)
class FinetuneResult:
    """How a run ended: 'done' (model published) or 'stopped' (resumable), with its scores."""

    status: str
    step: int
    run_dir: Path
    model_dir: Path | None
    base_sdri: float | None
    best_sdri: float | None
    info: dict[str, Any]


def finetune_runs_dir() -> Path:
    """Where run folders go by default (the user's data folder)."""
    return Path(platformdirs.user_data_dir("soundsift", appauthor=False)) / "finetune"


def finetune_models_dir() -> Path:
    """Where fine-tuned models are published: ``$SOUNDSIFT_MODELS`` when set, else the user's model folder."""
    env = os.environ.get("SOUNDSIFT_MODELS")
    return Path(env) if env else user_models_dir()


@dataclass
class _Plan:
    """The fixed data of a run: library, caption table, held-out split and replay."""

    library: Library
    table: CaptionTable
    train: list
    heldout: list
    replay: list[Path]
    replay_note: str
    base_path: Path


def prepare(settings: FinetuneSettings, table: CaptionTable | None = None, on_event: EventCallback | None = None,
            heldout: Sequence[str] | None = None) -> _Plan:
    """Scan the library and caption it (or take ``table``), split held-out files and find replay data.

    Files that do not decode are left out with a message; ``heldout`` (a resumed run's held-out files)
    replaces the seeded split, so that no held-out file ever moves into training.
    """
    settings.check()
    emit = on_event or (lambda event: None)
    library = scan_library(settings.library)
    unusable = list(library.skipped)
    if table is not None:
        table, unusable = drop_unusable(table, library)
    else:
        from soundsift.training.finetune.captions import build_caption_table, name_words_for

        tagger = None
        if settings.captions == "auto" and settings.vocabulary:
            from soundsift.training.finetune.autotag import AutoTagger, read_vocabulary

            tagger = AutoTagger(read_vocabulary(Path(settings.vocabulary))).caption_files
        table = build_caption_table(library, settings.captions, tagger, name_words_for(settings.base))
    for relative, why in unusable:
        emit(FinetuneEvent("message", text=f"unusable, left out: {relative} ({why})"))
    clips = captioned_clips(library, table)
    train, held = (split_holdout(clips, settings.holdout, settings.seed) if heldout is None
                   else split_as_saved(clips, heldout))
    replay, note = (find_replay(settings.replay, settings.base) if "replay" in settings.protect
                    else ([], "replay: off (not in --protect)"))
    return _Plan(library, table, train, held, replay, note, resolve_model(settings.base))


def check_base(base: str) -> str:
    """Load the base model once and check it can be fine-tuned; returns a line describing it."""
    path = resolve_model(base)
    network, encoder = load_checkpoint(path, "cpu")
    _audio_tower_check(encoder, network.config.stft.sample_rate)
    return f"base model {base}: {path} ({network.config.encoder.name} query encoder)"


def check_run_dir(run_dir: Path, library: str | Path) -> None:
    """Refuse a run folder inside the library: soundsift never writes there."""
    folder, root = Path(run_dir).expanduser().resolve(), Path(library).expanduser().resolve()
    if folder == root or root in folder.parents:
        raise SoundsiftError(f"{run_dir}: the run folder is inside the library {root}, which soundsift only reads; "
                             "pick a run folder (--run-dir) outside it")


def restart_hint(run_dir: Path) -> str:
    """How to start a run over, for messages that refuse to use a run folder."""
    return f"start it over with --restart (or delete {run_dir})"


def _audio_tower_check(encoder: QueryEncoder, sample_rate: int) -> None:
    try:
        with torch.no_grad():
            encoder.encode_audio(torch.zeros(1, sample_rate // 2), sample_rate)
    except EncoderError as exc:
        raise SoundsiftError(
            f"the base model's query encoder cannot embed audio ({exc}); the weak method needs a CLAP "
            "encoder with an audio tower (compact or laion)") from None


def _clauses(table: CaptionTable, limit: int) -> int:
    """Clauses per caption for L_CRL/L_CNT: the most any caption splits into, at most ``limit``."""
    return max(1, min(limit, max(len(split_caption(c)) for c in table.captions)))


def finetune_loss_weights(clauses: int) -> LossWeights:
    """The weak loss's weights: those of the built-in ``weak`` recipe (what measured best), with ``clauses``."""
    return dataclasses.replace(load_recipe(WEAK_RECIPE).loss, clauses=clauses)


class _Run:
    """One fine-tuning run's moving parts (built by :func:`finetune`)."""

    def __init__(self, settings: FinetuneSettings, plan: _Plan, run_dir: Path, device: torch.device,
                 emit: EventCallback, control: FinetuneControl) -> None:
        self.settings, self.plan, self.run_dir, self.device = settings, plan, run_dir, device
        self.emit, self.control = emit, control
        self.rng = np.random.default_rng(settings.seed)
        self.optimizer_factory = lambda params: torch.optim.AdamW(params, lr=settings.lr)
        if (run_dir / "checkpoint").exists():
            try:
                self.network, self.encoder, self.optimizer, self.progress = load_state(
                    run_dir, self.optimizer_factory, self.rng, device)
            except CheckpointError as exc:
                raise SoundsiftError(f"{exc}; {restart_hint(run_dir)}") from None
        else:
            self.network, self.encoder = load_checkpoint(plan.base_path, device)
            self.network.train()
            self.optimizer = self.optimizer_factory(self.network.parameters())
            self.progress = Progress()
        rate = self.network.config.stft.sample_rate
        _audio_tower_check(self.encoder, rate)
        self.sampler = LibrarySampler(plan.train, rate, settings.seconds)
        self.testset = (LibrarySampler(plan.heldout, rate, settings.seconds).test_mixtures(
            settings.test_mixtures, settings.seed + 1) if can_mix(plan.heldout) else [])
        n_replay = round(settings.replay_fraction * settings.batch_size) if plan.replay else 0
        self.n_library = settings.batch_size - n_replay
        self.replay = ReplaySource(plan.replay, rate, settings.seconds, n_replay) if n_replay else None
        self.recipe = Recipe(
            name=settings.name, regime="semi" if self.replay else "weak", model=self.network.config,
            data=DataRecipe(corpora=tuple(str(p) for p in plan.replay), seconds=settings.seconds),
            optim=OptimRecipe(steps=settings.steps, batch_size=settings.batch_size, lr=settings.lr, seed=settings.seed),
            loss=finetune_loss_weights(_clauses(plan.table, settings.max_clauses)),
        )
        self.base_network = load_checkpoint(plan.base_path, device)[0]
        self.check = check_mixtures(rate, settings.check_mixtures, settings.seed) if settings.check_mixtures else []

    def score(self) -> float:
        """Mean SDRi (dB) over the held-out mixtures, each file queried by its caption."""
        from soundsift.training import evaluate as ev

        try:
            estimator = ev.separator_estimator(Separator(self.network, self.encoder, self.device))
            scores = ev.evaluate(estimator, self.testset, self.network.config.stft, query_template=None)
        finally:
            self.network.train()
        return float(np.mean([s.sdri for s in scores]))

    def reported_score(self) -> float:
        """:meth:`score` during training, also sent as a 'score' event."""
        value = round(self.score(), 4)
        self.emit(FinetuneEvent("score", self.progress.step, self.settings.steps, value))
        return value

    def checkpoint(self) -> None:
        save_state(self.run_dir, self.network, self.encoder, self.optimizer, self.progress, self.rng)
        self.emit(FinetuneEvent("checkpoint", self.progress.step, self.settings.steps))

    def batch(self) -> MixtureBatch:
        batch = self.sampler.batch(self.rng, self.n_library)
        if self.replay is not None:
            batch = combine(batch, self.replay.next(self.rng))
        return batch


def finetune(
    settings: FinetuneSettings,
    run_dir: Path | None = None,
    *,
    resume: bool = False,
    restart: bool = False,
    device: str = "auto",
    table: CaptionTable | None = None,
    on_event: EventCallback | None = None,
    control: FinetuneControl | None = None,
    models_dir: Path | None = None,
) -> FinetuneResult:
    """Fine-tune ``settings.base`` on ``settings.library`` and publish it as ``settings.name``.

    With ``resume`` the run continues from ``run_dir/checkpoint`` (its saved caption table and
    held-out split are used; ``settings.steps`` may be larger than before); with ``restart`` an
    earlier run in ``run_dir`` is removed first.  ``control`` pauses or stops it between steps, and
    so do SIGINT and SIGTERM when called from the main thread: a stopped run keeps its checkpoint
    and can be resumed.
    """
    from soundsift.training.evaluate import load_bss_eval
    from soundsift.training.trainer import RegimeLoss

    load_bss_eval("fine-tuning")  # held-out scores: fail before any work when the train extra is missing
    emit = on_event or (lambda event: None)
    control = control or FinetuneControl()
    run_dir = Path(run_dir) if run_dir is not None else finetune_runs_dir() / settings.name
    check_run_dir(run_dir, settings.library)
    models_dir = models_dir or finetune_models_dir()
    saved = _open_run(settings, run_dir, resume, restart, models_dir)
    settings = saved.settings
    plan = prepare(settings, saved.table if saved.table is not None else table, emit, saved.heldout)
    if saved.table is None:
        emit(FinetuneEvent("captions", text=format_caption_table(plan.table, limit=20)))
    emit(FinetuneEvent("message", text=describe_plan(plan)))
    if not (run_dir / RUN_FILE).is_file():
        run_dir.mkdir(parents=True, exist_ok=True)
        write_caption_table(plan.table, run_dir / CAPTIONS_FILE)
    base_sdri = saved.base_sdri
    dev = resolve_device(device)
    run = _Run(settings, plan, run_dir, dev, emit, control)
    if base_sdri is None and run.testset:
        emit(FinetuneEvent("message", text=f"scoring the base model on {len(run.testset)} held-out mixtures"))
        base_sdri = run.score()
        emit(FinetuneEvent("score", 0, settings.steps, base_sdri, "base"))
    elif not run.testset:
        emit(FinetuneEvent("message", text="no held-out score: the held-out files need captions that name "
                                           "different sounds (add files or raise --holdout)"))
    _write_run(run_dir, settings, plan, base_sdri)
    module: nn.Module = ProtectedLoss(RegimeLoss(run.network, run.encoder, run.recipe), run.network, run.encoder,
                                      run.base_network, settings.protect, _protected_queries(plan), run.rng)
    log = TrainingLog(run_dir / "log.csv", run.progress.step)
    if run.progress.step == 0 and base_sdri is not None:
        log.write(step=0, lr=settings.lr, val_sdri=round(base_sdri, 4))  # the base model's score, step 0
    with _stop_on_signals(control):
        if not _train(run, module, log, dev):
            return _result("stopped", run, base_sdri)
    run.checkpoint()
    _plot(run_dir, settings.name)
    model_dir = _publish(run, plan, models_dir, base_sdri)
    emit(FinetuneEvent("message", text=describe_forgetting(read_finetune_info(model_dir) or {})))
    result = _result("done", run, base_sdri, model_dir)
    emit(FinetuneEvent("done", run.progress.step, settings.steps, result.best_sdri if result.best_sdri is not None
                       else math.nan, str(model_dir)))
    return result


def _train(run: _Run, module: nn.Module, log: TrainingLog, device: torch.device) -> bool:
    """Step until the run's step count; False when stopped first (after saving a checkpoint)."""
    settings = run.settings
    loop = StepLoop(run.optimizer, list(run.network.parameters()), run.recipe.optim.grad_clip)
    books = Books(Cadence(settings.steps, settings.validate_every, settings.log_every, settings.checkpoint_every),
                  log, run.reported_score if run.testset else None,
                  lambda: save_checkpoint(run.run_dir / "best", run.network, run.encoder), run.checkpoint)

    def after_step(report: StepReport) -> None:
        run.emit(FinetuneEvent("step", report.step, settings.steps, report.loss))
        keep_books(books, report, run.progress, settings.lr)

    return loop.run(run.progress, settings.steps, lambda: module(_next_batch(run).to(device)), after_step,
                    lambda: _go_on(run))


def _go_on(run: _Run) -> bool:
    """Asked before each step: False once stopped (after a checkpoint); while paused, a checkpoint, then a wait."""
    control = run.control
    while True:
        if control.stopped:
            run.checkpoint()
            return False
        if not control.paused:
            return True
        run.checkpoint()
        run.emit(FinetuneEvent("paused", run.progress.step, run.settings.steps))
        control.wait()


def _next_batch(run: _Run) -> MixtureBatch:
    """The next training batch; a library file that stops decoding mid-run (removed, changed, on a drive that
    went away) ends the run with a checkpoint of the last finished step and says how to go on."""
    try:
        return run.batch()
    except AudioError as exc:
        run.checkpoint()
        raise SoundsiftError(f"{exc}; the run is saved at step {run.progress.step}: restore or remove the file, "
                             "then resume with --resume") from None


@contextmanager
def _stop_on_signals(control: FinetuneControl) -> Iterator[None]:
    """In the main thread, SIGINT or SIGTERM stops the run after the current step, with a checkpoint.

    A step is never cut in half (that would save half-updated weights); a second signal acts as usual at once.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    previous = {sig: handler for sig, handler in previous.items() if handler is not None}

    def stop(signum: int, frame: object) -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        control.stop()

    for sig in previous:
        signal.signal(sig, stop)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@dataclass(frozen=True)
class _Saved:
    """What a run folder holds for a resume (all None/empty for a new run): settings, table, split, base score."""

    settings: FinetuneSettings
    table: CaptionTable | None = None
    heldout: list[str] | None = None
    base_sdri: float | None = None


def _open_run(settings: FinetuneSettings, run_dir: Path, resume: bool, restart: bool, models_dir: Path) -> _Saved:
    """Check the run folder against the request; on resume, the saved settings (new steps), table and split."""
    saved = run_dir / RUN_FILE
    target = models_dir / settings.name
    if resume and restart:
        raise SoundsiftError("--resume continues a run and --restart starts it over; pass one of them")
    if not resume:
        if restart:
            _clear_run(run_dir)
        if saved.exists() or (run_dir / "checkpoint").exists():
            raise SoundsiftError(f"{run_dir}: a fine-tuning run named '{settings.name}' is already there; "
                                 f"pass --resume to continue it, or {restart_hint(run_dir)}, or pick another --name")
        if target.exists():
            raise SoundsiftError(f"a model named '{settings.name}' already exists ({target}); pick another --name")
        return _Saved(settings)
    if not saved.is_file():
        raise SoundsiftError(f"{run_dir}: nothing to resume (no {RUN_FILE}); start without --resume")
    old, heldout, base_sdri = _read_run_file(run_dir)
    if Path(old.library).expanduser().resolve() != Path(settings.library).expanduser().resolve():
        raise SoundsiftError(f"{run_dir}: this run fine-tunes on {old.library}, not {settings.library}")
    merged = dataclasses.replace(old, steps=max(settings.steps, 1))
    return _Saved(merged, _read_run_captions(run_dir), heldout, base_sdri)


def _damaged(path: Path, why: object) -> SoundsiftError:
    return SoundsiftError(f"{path}: damaged ({why}); {restart_hint(path.parent)}")


def _read_run_file(run_dir: Path) -> tuple[FinetuneSettings, list[str], float | None]:
    """The settings, held-out files and base score saved in ``finetune.json`` (one line when it is damaged)."""
    path = run_dir / RUN_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        fields = record["settings"]
        settings = FinetuneSettings(**{**fields, "replay": tuple(fields["replay"]),
                                       "protect": tuple(fields.get("protect", ()))})
        settings.check()
        heldout = [str(name) for name in record["heldout"]]
        base_sdri = record.get("base_heldout_sdri")
        base_sdri = None if base_sdri is None else float(base_sdri)
    except KeyError as exc:
        raise _damaged(path, f"no {exc} entry") from None
    except (OSError, ValueError, TypeError, AttributeError, SoundsiftError) as exc:
        raise _damaged(path, exc) from None
    return settings, heldout, base_sdri


def _read_run_captions(run_dir: Path) -> CaptionTable:
    path = run_dir / CAPTIONS_FILE
    if not path.is_file():
        raise SoundsiftError(f"{path}: missing, so the run's captions are unknown; {restart_hint(run_dir)}")
    try:
        return read_caption_table(path)
    except KeyError as exc:
        raise _damaged(path, f"no {exc} column") from None
    except (OSError, ValueError, csv.Error) as exc:
        raise _damaged(path, exc) from None


def _clear_run(run_dir: Path) -> None:
    """Remove what an earlier run wrote in ``run_dir``: its own files and staging folders, nothing else."""
    if not (run_dir / RUN_FILE).exists() and not (run_dir / "checkpoint").exists():
        return
    for entry in run_dir.iterdir():
        if entry.name in RUN_ENTRIES or entry.name.startswith(RUN_STAGING):
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()


def saved_steps(run_dir: Path) -> int | None:
    """The step count a run folder was started with (None when there is no readable run there)."""
    try:
        return int(json.loads((run_dir / RUN_FILE).read_text())["settings"]["steps"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_run(run_dir: Path, settings: FinetuneSettings, plan: _Plan, base_sdri: float | None) -> None:
    record = {"settings": asdict(settings), "library": str(plan.library.root.resolve()),
              "heldout": [c.relative for c in plan.heldout], "replay": [str(p) for p in plan.replay],
              "base_path": str(plan.base_path), "base_heldout_sdri": base_sdri}
    write_text(run_dir / RUN_FILE, json.dumps(record, indent=2) + "\n")


def describe_plan(plan: _Plan) -> str:
    """One paragraph: files, hours, captions, held-out files and replay."""
    files = len(plan.train) + len(plan.heldout)
    hours = sum(c.duration for c in plan.train + plan.heldout) / 3600
    return (f"library {plan.library.root}: {files} captioned files ({hours:.2f} h), "
            f"{len(plan.table.captions)} distinct captions; {len(plan.train)} for training, "
            f"{len(plan.heldout)} held out for scoring; {plan.replay_note}")


def _info(run: _Run, plan: _Plan, base_sdri: float | None) -> dict[str, Any]:
    clips = plan.train + plan.heldout
    best = run.progress.best_val_sdr
    return {
        "base": run.settings.base, "base_path": str(plan.base_path), "library": str(plan.library.root.resolve()),
        "files": len(clips), "train_files": len(plan.train), "heldout_files": len(plan.heldout),
        "hours": round(sum(c.duration for c in clips) / 3600, 4), "captions": run.settings.captions,
        "distinct_captions": len(plan.table.captions), "steps": run.progress.step,
        "replay": [str(p) for p in plan.replay], "protect": list(run.settings.protect),
        "test_mixtures": len(run.testset),
        "heldout_sdri": round(best, 3) if math.isfinite(best) else None,
        "base_heldout_sdri": None if base_sdri is None else round(base_sdri, 3),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "soundsift": __version__,
    }


def _publish(run: _Run, plan: _Plan, models_dir: Path, base_sdri: float | None) -> Path:
    """Write the best-scoring weights (the last ones when nothing was scored) as a named model, atomically,
    with the forgetting report of those weights."""
    info = _info(run, plan, base_sdri)
    network: SeparatorNetwork = run.network
    encoder = run.encoder
    if (run.run_dir / "best").is_dir():
        network, encoder = load_checkpoint(run.run_dir / "best", run.device)
    if run.check:
        info.update(forgetting_report(check_sdri(run.base_network, encoder, run.check, run.device),
                                      check_sdri(network, encoder, run.check, run.device), len(run.check)))
    network.config = dataclasses.replace(network.config, description=describe_finetune(info))
    models_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{run.settings.name}.", dir=models_dir))
    target = models_dir / run.settings.name
    try:
        save_checkpoint(staging / "model", network, encoder)
        (staging / "model" / FINETUNE_FILE).write_text(json.dumps(info, indent=2) + "\n")
        write_vocabulary(staging / "model", _vocabulary(plan))
        replace_folder(staging / "model", target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _protected_queries(plan: _Plan) -> list[str]:
    """Distillation queries: the base model's classes that the library's training captions do not name."""
    try:
        base = read_vocabulary(plan.base_path)
    except SoundsiftError:
        base = None
    return protected_queries(base, [clip.caption for clip in plan.train], load_name_words(base))


def _vocabulary(plan: _Plan) -> Vocabulary:
    """The base model's vocabulary (none when it records none or it is unreadable) plus the library's sounds."""
    try:
        base = read_vocabulary(plan.base_path)
    except SoundsiftError:
        base = None
    return finetuned_vocabulary(base, [(clip.caption, clip.duration) for clip in plan.train], str(plan.library.root))


def _result(status: str, run: _Run, base_sdri: float | None, model_dir: Path | None = None) -> FinetuneResult:
    best = run.progress.best_val_sdr
    info = {}
    if model_dir is not None:
        from soundsift.core.finetune_info import read_finetune_info

        info = read_finetune_info(model_dir) or {}
    return FinetuneResult(status, run.progress.step, run.run_dir, model_dir, base_sdri,
                          best if math.isfinite(best) else None, info)


def _plot(run_dir: Path, title: str) -> None:
    try:
        from soundsift.training.plots import plot_log
    except ImportError:  # matplotlib is part of the [train] extra
        return
    try:
        plot_log(run_dir / "log.csv", run_dir / "training.png", title=f"fine-tuning {title}")
    except ImportError:
        return
