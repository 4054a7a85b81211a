"""Evaluation on saved test mixtures: SDR / SIR / SAR / SDRi of queried sources (BSS-Eval).

Protocol (docs/method.md): each test mixture holds ground-truth stems of different classes;
each stem is queried by text ("the sound of {label}" by default, or its caption); the
estimates of all stems of a mixture are scored together with mir_eval's
``bss_eval_sources`` without permutation.  SDRi is the gain over using the unprocessed
mixture as the estimate.  The ideal ratio mask at the model's STFT gives the ceiling for
mask-based methods.
"""
from __future__ import annotations

import json
import statistics
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from soundsift.audio import read_audio, resample
from soundsift.core.config import STFTConfig
from soundsift.durable import write_text
from soundsift.errors import SoundsiftError
from soundsift.model.frontend import istft, stft
from soundsift.model.network import SeparatorNetwork
from soundsift.queries import QueryLike, query_name
from soundsift.separator import SeparationOptions, Separator
from soundsift.training.data.manifest import Entry, corpus_root, read_manifest
from soundsift.training.extras import TRAIN_EXTRA
from soundsift.training.references import ReferencePicker

QUERY_TEMPLATE = "the sound of {label}"
Estimator = Callable[["TestMixture", list[QueryLike]], np.ndarray]
QueryFn = Callable[["TestMixture"], list[QueryLike]]


@dataclass(frozen=True)
class Score:
    """Scores of one queried stem of one test mixture (dB)."""

    mixture: str
    label: str
    query: str
    sdr: float
    sir: float
    sar: float
    sdri: float
    oracle_sdr: float


@dataclass(frozen=True)
class TestMixture:
    """A decoded test mixture: mono mixture, its stems (n, samples) and labels, at one rate.

    ``tags``: each stem's labels (its class, then broader tags such as "speech");
    ``absent``: classes the test set asks for although they are in no stem (its ``absent``
    metadata; :mod:`soundsift.training.absent_eval`).
    """

    name: str
    mixture: np.ndarray
    stems: np.ndarray
    labels: tuple[str, ...]
    captions: tuple[str, ...]
    sample_rate: int
    tags: tuple[tuple[str, ...], ...] = ()
    absent: tuple[str, ...] = ()


TestMixture.__test__ = False  # not a pytest class


def load_testset(directory: str | Path, limit: int | None = None, domain: str | None = None) -> list[TestMixture]:
    """Read the mixtures (entries with stems) of a test corpus folder; with ``domain``, only those whose
    ``meta.domain`` is that (test sets of real recordings group their mixtures by domain)."""
    root = corpus_root(directory)
    entries = [e for e in read_manifest(directory) if e.stems]
    if not entries:
        raise SoundsiftError(f"{root}: the manifest lists no mixtures with ground-truth stems")
    if domain is not None:
        domains = sorted({str(e.meta.get("domain")) for e in entries if e.meta.get("domain") is not None})
        entries = [e for e in entries if e.meta.get("domain") == domain]
        if not entries:
            raise SoundsiftError(f"{root}: no mixtures of domain '{domain}' (domains: {', '.join(domains) or 'none'})")
    return [_load_mixture(root, e) for e in entries[:limit]]


def _mono(path: Path, sample_rate: int) -> np.ndarray:
    audio, rate = read_audio(path)
    return resample(audio.mean(axis=0, keepdims=True), rate, sample_rate)[0]


def _load_mixture(root: Path, entry: Entry) -> TestMixture:
    rate = entry.sample_rate
    stems = [_mono(root / s.path, rate) for s in entry.stems]
    length = min(len(s) for s in stems)
    stems_arr = np.stack([s[:length] for s in stems])
    absent = entry.meta.get("absent", [])
    if not isinstance(absent, list) or not all(isinstance(label, str) and label for label in absent):
        raise SoundsiftError(f"{root / entry.path}: 'absent' must list class labels, got {absent!r}")
    return TestMixture(
        name=entry.path, mixture=stems_arr.sum(axis=0), stems=stems_arr,
        labels=tuple(s.labels[0] for s in entry.stems), captions=tuple(s.caption for s in entry.stems),
        sample_rate=rate, tags=tuple(tuple(s.labels) for s in entry.stems), absent=tuple(absent),
    )


def oracle_irm(stems: np.ndarray, sample_rate: int, stft_cfg: STFTConfig) -> np.ndarray:
    """Ideal-ratio-mask estimates at the model STFT: |S_i| / sum_j |S_j| applied to the mixture.

    Shape: stems (n, samples) -> (n, samples).
    """
    model_rate = stft_cfg.sample_rate
    x = torch.from_numpy(resample(stems, sample_rate, model_rate) if sample_rate != model_rate else stems)
    specs = stft(x, stft_cfg.n_fft, stft_cfg.hop_length)
    mags = specs.abs()
    masks = mags / mags.sum(dim=0, keepdim=True).clamp_min(1e-8)
    est = istft(masks * specs.sum(dim=0, keepdim=True), stft_cfg.n_fft, stft_cfg.hop_length, x.shape[-1]).numpy()
    return resample(est, model_rate, sample_rate)[:, : stems.shape[1]] if sample_rate != model_rate else est


def load_bss_eval(purpose: str = "scoring") -> Callable[..., tuple]:
    """mir_eval's ``bss_eval_sources``, imported on use: mir_eval and scipy come with the ``train`` extra.

    Without them this raises :class:`SoundsiftError` with one line naming ``purpose`` and the extra to install.
    """
    try:
        from mir_eval.separation import bss_eval_sources
    except ImportError as exc:
        raise SoundsiftError(f"{purpose} needs the train extra ({exc}); install it with: {TRAIN_EXTRA}") from None
    return bss_eval_sources


def _bss(refs: np.ndarray, ests: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    bss_eval_sources = load_bss_eval()
    with warnings.catch_warnings():  # mir_eval < 0.9 is pinned on purpose; its removal notice is noise here
        warnings.simplefilter("ignore", (DeprecationWarning, FutureWarning))
        sdr, sir, sar, _ = bss_eval_sources(refs.astype(np.float64), ests.astype(np.float64), compute_permutation=False)
    return sdr, sir, sar


def score_mixture(item: TestMixture, estimates: np.ndarray, queries: Sequence[QueryLike], stft_cfg: STFTConfig
                  ) -> list[Score]:
    """BSS-Eval scores of every stem's estimate. Shape: estimates (n, samples)."""
    sdr, sir, sar = _bss(item.stems, estimates)
    base, _, _ = _bss(item.stems, np.repeat(item.mixture[None], len(item.stems), axis=0))
    oracle, _, _ = _bss(item.stems, oracle_irm(item.stems, item.sample_rate, stft_cfg))
    return [
        Score(item.name, label, query_name(query), float(sdr[i]), float(sir[i]), float(sar[i]), float(sdr[i] - base[i]),
              float(oracle[i]))
        for i, (label, query) in enumerate(zip(item.labels, queries))
    ]


def separator_estimator(separator: Separator) -> Estimator:
    """Estimates from a loaded separator: one stem per query, mono."""
    options = SeparationOptions(include_rest=False)

    def estimate(item: TestMixture, queries: list[QueryLike]) -> np.ndarray:
        stems = separator.separate(item.mixture[None], queries, item.sample_rate, options=options)
        return np.stack([stems[query_name(q)][0] for q in queries])

    return estimate


def oracle_slot_estimator(network: SeparatorNetwork) -> Estimator:
    """For query-free models (MixIT): each stem gets the learned slot output closest to it.

    Picking slots with the references is an oracle, so its scores are an upper bound for the
    query-free baseline, as is usual when MixIT is compared with query-based separators.
    """

    def estimate(item: TestMixture, queries: list[QueryLike]) -> np.ndarray:
        slots = slot_outputs(network, item.mixture, item.sample_rate)
        best = [int(np.argmax([_sdr_like(stem, s) for s in slots])) for stem in item.stems]
        return slots[best]

    return estimate


def slot_outputs(network: SeparatorNetwork, mixture: np.ndarray, sample_rate: int) -> np.ndarray:
    """Separations of a mono mixture by every learned query. Shape: (samples,) -> (slots, samples)."""
    cfg = network.config.stft
    wave = torch.from_numpy(resample(mixture[None], sample_rate, cfg.sample_rate)).to(next(network.parameters()).device)
    with torch.inference_mode():
        spec = network.spectrogram(wave)
        masks = torch.sigmoid(network.mask_logits(spec.abs(), network.learned_query()))[0]
        out = istft(masks * spec, cfg.n_fft, cfg.hop_length, wave.shape[-1]).cpu().numpy()
    return resample(out, cfg.sample_rate, sample_rate)[:, : mixture.shape[-1]]


def _sdr_like(ref: np.ndarray, est: np.ndarray) -> float:
    """Scale-invariant SDR (dB), cheap enough to rank candidate outputs."""
    n = min(ref.shape[-1], est.shape[-1])
    ref, est = ref[:n], est[:n]
    target = ref * (est @ ref) / (ref @ ref + 1e-12)
    return float(10 * np.log10((target @ target + 1e-12) / ((est - target) @ (est - target) + 1e-12)))


def evaluate(
    estimate: Estimator,
    testset: Sequence[TestMixture],
    stft_cfg: STFTConfig,
    query_template: str | None = QUERY_TEMPLATE,
    progress: Callable[[int, int], None] | None = None,
    query_fn: QueryFn | None = None,
) -> list[Score]:
    """Score every stem of every mixture; ``query_template=None`` queries with stem captions.

    ``query_fn`` (mixture -> one query per stem) overrides both, e.g. audio-example queries
    (:func:`audio_example_queries`).
    """
    scores: list[Score] = []
    for i, item in enumerate(testset):
        if query_fn is not None:
            queries = query_fn(item)
        elif query_template is None:
            queries = list(item.captions)
        else:
            queries = [query_template.format(label=label) for label in item.labels]
        scores.extend(score_mixture(item, estimate(item, queries), queries, stft_cfg))
        if progress is not None:
            progress(i + 1, len(testset))
    return scores


def audio_example_queries(picker: ReferencePicker) -> QueryFn:
    """Per stem, an audio query of reference clips of its class (:class:`ReferencePicker`)."""

    def queries(item: TestMixture) -> list[QueryLike]:
        return [picker.query(label, item.name, i) for i, label in enumerate(item.labels)]

    return queries


def paraphrase_queries(item: TestMixture) -> list[QueryLike]:
    """Per stem, the first paraphrase naming its class ("fiddle" for violin; never a training
    caption, :data:`~soundsift.training.data.vocabulary.PARAPHRASES`), else its label query."""
    from soundsift.training.data.vocabulary import PARAPHRASES

    first = {}
    for paraphrase in PARAPHRASES:
        for label in paraphrase.targets:
            first.setdefault(label, paraphrase.query)
    return [first.get(label, QUERY_TEMPLATE.format(label=label)) for label in item.labels]


def summarise(scores: Sequence[Score], held_out: Sequence[str] = ()) -> dict[str, dict[str, float]]:
    """Mean and median of each metric, overall and per class.

    With ``held_out`` class labels, two more rows: ``seen`` and ``held-out`` (the stems of
    classes outside / inside that list).
    """
    groups: dict[str, list[Score]] = {"all": list(scores)}
    if held_out:
        groups["seen"] = [s for s in scores if s.label not in held_out]
        groups["held-out"] = [s for s in scores if s.label in held_out]
        groups = {k: v for k, v in groups.items() if v}
    for s in scores:
        groups.setdefault(s.label, []).append(s)
    table = {}
    for name, items in groups.items():
        row: dict[str, float] = {"count": float(len(items))}
        for metric in ("sdr", "sir", "sar", "sdri", "oracle_sdr"):
            values = [getattr(s, metric) for s in items]
            row[f"{metric}_mean"] = float(np.mean(values))
            row[f"{metric}_median"] = float(statistics.median(values))
        table[name] = row
    return table


def format_table(summary: dict[str, dict[str, float]]) -> str:
    """A plain-text table of the summary (mean / median in dB)."""
    head = f"{'class':<24}{'n':>5}  {'SDR':>13}  {'SIR':>13}  {'SAR':>13}  {'SDRi':>13}  {'IRM SDR':>13}"
    lines = [head, "-" * len(head)]
    for name, row in summary.items():
        cells = [f"{row[m + '_mean']:6.2f}/{row[m + '_median']:6.2f}" for m in ("sdr", "sir", "sar", "sdri", "oracle_sdr")]
        lines.append(f"{name:<24}{int(row['count']):>5}  " + "  ".join(cells))
    return "\n".join(lines)


def write_report(path: Path, scores: Sequence[Score], summary: dict[str, dict[str, float]], meta: dict,
                 extra: dict | None = None) -> None:
    """JSON report with the command's settings, the summary, every score and any ``extra`` sections
    (written atomically; a missing folder is made)."""
    payload = {"meta": meta, "summary": summary, "scores": [asdict(s) for s in scores], **(extra or {})}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, json.dumps(payload, indent=2) + "\n")
