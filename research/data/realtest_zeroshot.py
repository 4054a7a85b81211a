"""Zero-shot top-1 of a compact CLAP on the test clips of corpora: the baseline real-recording training must beat.

Each clip is matched against "the sound of {noun}" of every class the vocabulary knows (the
classes the shipped encoder was trained on); clips of other classes are counted, not scored.
Scores are given overall, per class and per source package, with the most frequent answers.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from research.clap.captions import class_prompt
from research.clap.clips import load_clips
from research.clap.report import embed_clips, embed_texts
from research.clap.text_features import TextFeatures
from soundsift.model.encoders.compact_weights import SHIPPED_DIR, read_weights
from soundsift.model.encoders.minilm_files import locate_minilm
from soundsift.training.data.manifest import read_manifest
from soundsift.training.data.vocabulary import VOCABULARY

CLIP_SECONDS = 4.0


def zero_shot_report(corpora: Sequence[str | Path], weights: str | Path | None = None,
                     split: str = "test") -> dict[str, Any]:
    """Top-1 answers of the encoder in ``weights`` (default: the shipped one) for every clip of ``split``."""
    model = read_weights(weights or SHIPPED_DIR).eval()
    classes = sorted(VOCABULARY)
    clips = load_clips(corpora, split, model.config.audio.sample_rate, CLIP_SECONDS)
    sources = [e.source for c in corpora for e in read_manifest(c) if e.split == split and not e.stems]
    with torch.no_grad():
        prompts = embed_texts(model, TextFeatures(locate_minilm()), [class_prompt(c) for c in classes])
        answers = [classes[i] for i in (embed_clips(model, clips) @ prompts.T).argmax(dim=1).tolist()]
    return summarise(list(clips.labels), answers, sources, len(classes))


def summarise(labels: Sequence[str], answers: Sequence[str], sources: Sequence[str], classes: int) -> dict[str, Any]:
    """Top-1 overall, per class and per source over the clips whose class is known, and the frequent answers."""
    scored = [i for i, label in enumerate(labels) if label in VOCABULARY]
    hits = {i: answers[i] == labels[i] for i in scored}

    def rate(rows: list[int]) -> dict[str, float | int]:
        return {"clips": len(rows), "top1": sum(hits[i] for i in rows) / len(rows) if rows else 0.0}

    by_class: dict[str, list[int]] = defaultdict(list)
    by_source: dict[str, list[int]] = defaultdict(list)
    for i in scored:
        by_class[labels[i]].append(i)
        by_source[sources[i]].append(i)
    return {
        "clips": len(labels), "unknown_class_clips": len(labels) - len(scored), "classes": classes,
        "top1": rate(scored)["top1"], "per_class": {k: rate(v) for k, v in sorted(by_class.items())},
        "per_source": {k: rate(v) for k, v in sorted(by_source.items())},
        "answers": Counter(answers[i] for i in scored).most_common(6),
    }


def format_report(report: dict[str, Any]) -> str:
    """The report as text lines."""
    scored = report["clips"] - report["unknown_class_clips"]
    lines = [(f"{report['clips']} clips, {report['unknown_class_clips']} of classes the encoder does not know; "
              f"top-1 over {report['classes']} classes: {report['top1']:.1%} of {scored}")]
    for part in ("per_class", "per_source"):
        lines += [f"  {name}: {row['top1']:.1%} of {row['clips']}" for name, row in report[part].items()]
    lines.append("  most frequent answers: " + ", ".join(f"{a} ({n})" for a, n in report["answers"]))
    return "\n".join(lines)
