"""The ``train clap`` loop: class-balanced pairs, augmentation, symmetric InfoNCE, checkpoints, report.

A run folder holds ``settings.json``, ``checkpoint/`` (resumable), and when the run ends
``encoder/`` (the compact CLAP weights folder), ``report.json`` and ``report.md`` (the
zero-shot scores on the corpora's test clips, and on their validation clips where there
are any).  Classes named in ``holdout_classes`` are left out of training and scored
zero-shot on their held-out clips; ``init_from`` starts from another run's (or the shipped)
weights.
"""
from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from research.clap.augment import (
    Augmentation,
    equalise,
    gain_and_noise,
    mask_log_mel,
    mix_background,
    pitch_shift,
    random_crop,
)
from research.clap.captions import caption_pool
from research.clap.checkpoint import has_checkpoint, load_run, save_run
from research.clap.clips import ClipSet, NoClipsError, load_clips, manifest_class_words
from research.clap.loss import symmetric_info_nce
from research.clap.report import evaluate, evaluate_unseen, write_report
from research.clap.sampler import PairSampler
from research.clap.text_features import TextFeatures
from soundsift.errors import SoundsiftError
from soundsift.model.encoders.compact_model import CompactClap, CompactConfig
from soundsift.model.encoders.compact_weights import read_weights, write_weights
from soundsift.model.encoders.minilm_files import locate_minilm, minilm_identity
from soundsift.training.data.vocabulary import Phrase
from soundsift.training.state import Progress
from soundsift.training.step_loop import StepLoop, StepReport

SETTINGS_FILE = "settings.json"
ENCODER_DIR = "encoder"
REPORT_SPLITS = ("test", "val")


@dataclass(frozen=True)
class ClapSettings:
    """Everything that decides a run's result (saved as ``settings.json``; a resumed run must match)."""

    corpora: tuple[str, ...]
    steps: int = 2500
    batch_size: int = 64
    seed: int = 0
    learning_rate: float = 1e-3
    text_learning_rate: float = 2e-4
    weight_decay: float = 1e-4
    text_weight_decay: float = 0.05
    warmup_steps: int = 100
    clip_seconds: float = 4.0
    checkpoint_every: int = 250
    augmentation: Augmentation = field(default_factory=Augmentation)
    holdout_classes: tuple[str, ...] = ()
    init_from: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return json.loads(json.dumps(dataclasses.asdict(self)))


def learning_rate_factor(step: int, settings: ClapSettings) -> float:
    """Linear warm-up, then cosine decay to 5% of the peak at ``settings.steps``."""
    if step < settings.warmup_steps:
        return (step + 1) / settings.warmup_steps
    progress = (step - settings.warmup_steps) / max(1, settings.steps - settings.warmup_steps)
    return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def _optimizer(model: CompactClap, settings: ClapSettings) -> torch.optim.AdamW:
    groups = [
        {"params": list(model.audio.parameters()), "lr": settings.learning_rate,
         "weight_decay": settings.weight_decay, "peak_lr": settings.learning_rate},
        {"params": [model.text_delta], "lr": settings.text_learning_rate,
         "weight_decay": settings.text_weight_decay, "peak_lr": settings.text_learning_rate},
        {"params": [model.log_logit_scale], "lr": settings.learning_rate, "weight_decay": 0.0,
         "peak_lr": settings.learning_rate},
    ]
    return torch.optim.AdamW(groups)


def _check_run_dir(run_dir: Path, settings: ClapSettings, resume: bool) -> None:
    saved_path = run_dir / SETTINGS_FILE
    if has_checkpoint(run_dir) and not resume:
        raise SoundsiftError(f"{run_dir}: already holds a run; pass --resume to continue it, or pick another --out")
    if resume and saved_path.is_file():
        saved = json.loads(saved_path.read_text())
        mine = settings.to_dict()
        changed = sorted(k for k in mine if k != "steps" and saved.get(k) != mine[k])
        if changed:
            raise SoundsiftError(f"{saved_path}: the run was started with other settings ({', '.join(changed)}); "
                                 "resume with the same ones (only --steps may change)")
    run_dir.mkdir(parents=True, exist_ok=True)
    saved_path.write_text(json.dumps(settings.to_dict(), indent=2) + "\n")


def _batch_embeddings(model: CompactClap, waves: torch.Tensor, aug: Augmentation,
                      generator: torch.Generator) -> torch.Tensor:
    """Augmented audio embeddings of a batch of clips. Shape: ``(n, samples)`` -> ``(n, dim)``."""
    crop = round(aug.crop_seconds * model.config.audio.sample_rate)
    waves = mix_background(random_crop(waves, crop, generator), aug, generator)
    waves = gain_and_noise(waves, aug, generator)
    frontend = model.audio.frontend
    power = pitch_shift(equalise(frontend.power(waves), aug, generator), aug, generator)
    log_mel = mask_log_mel(frontend.log_mel(power), aug, generator)
    return F.normalize(model.audio.embed_log_mel(log_mel), dim=-1)


def train_clap(
    run_dir: Path,
    settings: ClapSettings,
    resume: bool = False,
    on_step: Callable[[int, int, float], None] | None = None,
    on_load: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Train (or resume) a compact CLAP, write its weights and report; returns the report.

    ``on_step(step, steps, loss)`` is called after every step, ``on_load(what, done, total)``
    while clips load.
    """
    _check_run_dir(run_dir, settings, resume)
    torch.manual_seed(settings.seed)
    files = locate_minilm()
    features = TextFeatures(files)
    model = CompactClap(CompactConfig(text_model=minilm_identity(files)))
    if settings.init_from is not None:
        warm_start_clap(model, Path(settings.init_from))
    rate = model.config.audio.sample_rate

    def loading(what: str) -> Callable[[int, int], None] | None:
        return None if on_load is None else lambda done, total: on_load(what, done, total)

    holdout = set(settings.holdout_classes)
    try:
        train = load_clips(settings.corpora, "train", rate, settings.clip_seconds, loading("train clips"),
                           keep=lambda label: label not in holdout)
    except NoClipsError as exc:
        raise NoClipsError(f"{exc} outside the held-out classes" if holdout else str(exc)) from None
    unseen = held_out_words(settings.corpora, settings.holdout_classes)
    words = train.class_words()
    classes = list(words)
    captions, pools = training_captions(train, classes)
    caption_features = features(captions)
    optimizer = _optimizer(model, settings)
    generator = torch.Generator().manual_seed(settings.seed)
    progress = Progress(load_run(run_dir, model, optimizer, generator) if resume and has_checkpoint(run_dir) else 0)
    sampler = PairSampler(train.label_ids(classes), pools)
    loop = StepLoop(optimizer, schedule=lambda step, group: group["peak_lr"] * learning_rate_factor(step, settings))

    def next_loss() -> torch.Tensor:
        clip_ids, caption_ids, class_ids = sampler.sample(settings.batch_size, generator)
        audio = _batch_embeddings(model, train.waves[clip_ids], settings.augmentation, generator)
        text = model.embed_pooled(caption_features[caption_ids])
        return symmetric_info_nce(audio, text, class_ids, model.logit_scale)

    def after_step(report: StepReport) -> None:
        if on_step is not None:
            on_step(report.step, settings.steps, report.loss)
        if report.step % settings.checkpoint_every == 0 or report.step == settings.steps:
            save_run(run_dir, model, optimizer, report.step, generator)

    model.train()
    loop.run(progress, settings.steps, next_loss, after_step)
    model.eval()
    model.attach_anchors(caption_features)
    write_weights(run_dir / ENCODER_DIR, model)
    splits = {}
    for split in REPORT_SPLITS:
        try:
            held_out = load_clips(settings.corpora, split, rate, settings.clip_seconds, loading(f"{split} clips"))
        except NoClipsError:
            continue
        splits[split] = evaluate(model, features, held_out, words)
        if unseen:
            splits[split]["held_out_classes"] = evaluate_unseen(model, features, held_out, words, unseen)
    report = {"settings": settings.to_dict(), "steps_trained": progress.step, "splits": splits}
    write_report(run_dir, report)
    return report


def warm_start_clap(model: CompactClap, weights: Path) -> None:
    """Start ``model`` from a compact CLAP weights folder: its audio tower, projection and logit scale.

    Its vocabulary anchors are dropped (the run attaches its own at the end); its audio front end
    and text model must be this run's."""
    source = read_weights(weights)
    mine, theirs = model.config, source.config
    if (theirs.audio, theirs.dim, theirs.text_model) != (mine.audio, mine.dim, mine.text_model):
        raise SoundsiftError(f"{weights}: its audio tower, size or text model differ from this run's "
                             f"(audio {theirs.audio.to_dict()}, dim {theirs.dim}, text model {theirs.text_model}; "
                             f"this run: audio {mine.audio.to_dict()}, dim {mine.dim}, text model {mine.text_model})")
    state = {k: v for k, v in source.state_dict().items() if k != "anchors"}
    model.load_state_dict(state)


def held_out_words(corpora: tuple[str, ...], labels: tuple[str, ...]) -> dict[str, Phrase]:
    """The words of the classes held out of training, in the order given; a class without train clips is an error."""
    if not labels:
        return {}
    words = manifest_class_words(corpora, "train", labels)
    missing = [label for label in labels if label not in words]
    if missing:
        raise SoundsiftError(f"held-out class {', '.join(repr(m) for m in missing)}: no train clips of it in the "
                             "corpora (classes are the manifests' labels)")
    return {label: words[label] for label in labels}


def training_captions(clips: ClipSet, classes: list[str]) -> tuple[list[str], list[list[int]]]:
    """All distinct training captions, and for each class the indices of its captions."""
    words = clips.class_words()
    table: list[str] = []
    pools: list[list[int]] = []
    for label in classes:
        pool = caption_pool(label, (c for c, lab in zip(clips.captions, clips.labels) if lab == label), words[label])
        pools.append(list(range(len(table), len(table) + len(pool))))
        table += pool
    return table, pools
