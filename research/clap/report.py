"""Zero-shot classification, retrieval and paraphrase scores of a compact CLAP on held-out clips.

- Zero-shot classification: each clip against the prompts "the sound of {noun}" of every
  class the model was trained on (the noun of the words its captions were filled from);
  top-1 and top-5 accuracy, overall (over clips), per category and per class.  Clips of
  classes the model does not know are left out and counted.
- Retrieval with class-level relevance: audio-to-text recall@k ranks the class prompts for
  each clip (so recall@1 is top-1 accuracy); text-to-audio recall@k uses each clip's own
  caption as the query and counts a hit when one of the k nearest other clips is of its class.
- Paraphrases (:data:`~research.clap.captions.PARAPHRASES`, never seen in
  training) whose target classes all have clips in the split: the paraphrase replaces the
  prompts of its target classes; accuracy is the
  share of target-class clips whose best match is the paraphrase, against the chance of
  one over the number of prompts.  Precision@10 of the paraphrase as a text-to-audio
  query is given beside the share of target clips among all clips (its chance level).
- Classes held out of training (:func:`evaluate_unseen`): their clips against the prompts of
  the held-out classes alone, and against those of every class, trained and held out.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from research.clap.captions import class_prompt
from research.clap.clips import ClipSet
from research.clap.text_features import TextFeatures
from soundsift.model.encoders.compact_model import CompactClap
from soundsift.training.data.vocabulary import Phrase, paraphrases_for


@torch.no_grad()
def embed_clips(model: CompactClap, clips: ClipSet, batch_size: int = 64) -> torch.Tensor:
    """Audio embeddings of every clip. Shape: ``(n, dim)``."""
    return torch.cat([model.audio_embedding(clips.waves[i : i + batch_size])
                      for i in range(0, len(clips), batch_size)])


@torch.no_grad()
def embed_texts(model: CompactClap, features: TextFeatures, texts: Sequence[str]) -> torch.Tensor:
    """Text embeddings. Shape: ``(n,)`` -> ``(n, dim)``."""
    return model.embed_pooled(features(list(texts)))


def _recall(ranked_hits: torch.Tensor, k: int) -> float:
    """Share of rows with a hit among their first k columns. ``ranked_hits``: ``(n, m)`` bool."""
    return float(ranked_hits[:, :k].any(dim=1).float().mean())


def zero_shot(audio: torch.Tensor, prompts: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """Rank of each clip's true class among the prompts (0 = best). Shapes: ``(n, d)``, ``(c, d)``, ``(n,)``."""
    scores = audio @ prompts.T
    return (scores > scores.gather(1, truth[:, None])).sum(dim=1)


def evaluate(model: CompactClap, features: TextFeatures, clips: ClipSet, words: Mapping[str, Phrase]) -> dict[str, Any]:
    """Every score described in the module docstring, as a JSON-able dict; ``words``: the trained classes' words, in order."""
    model.eval()
    classes = list(words)
    known = [i for i, label in enumerate(clips.labels) if label in set(classes)]
    if not known:
        raise ValueError("none of the held-out clips is of a class the model was trained on")
    index = {c: i for i, c in enumerate(classes)}
    labels = [clips.labels[i] for i in known]
    categories = [clips.categories[i] for i in known]
    truth = torch.tensor([index[label] for label in labels])
    audio = embed_clips(model, clips)[known]
    prompts = embed_texts(model, features, [class_prompt(c, words[c]) for c in classes])
    rank = zero_shot(audio, prompts, truth)

    def accuracy(rows: list[int], k: int) -> float:
        return float((rank[rows] < k).float().mean())

    def grouped(keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        return {key: {"clips": len(rows), "top1": accuracy(rows, 1), "top5": accuracy(rows, 5)}
                for key, rows in _rows_by(keys).items()}

    everything = list(range(len(known)))
    per_class = {c: accuracy(rows, 1) for c, rows in _rows_by(labels).items()}
    captions = embed_texts(model, features, [clips.captions[i] for i in known])
    return {
        "classes": len(classes),
        "clips": len(known),
        "clips_of_unknown_classes": len(clips) - len(known),
        "chance_top1": 1.0 / len(classes),
        "top1": accuracy(everything, 1),
        "top5": accuracy(everything, 5),
        "macro_top1": sum(per_class.values()) / len(per_class),
        "per_category": grouped(categories),
        "per_corpus": grouped([clips.corpora[i] for i in known]),
        "per_class_top1": per_class,
        "retrieval": _retrieval(audio, captions, truth, rank),
        "paraphrases": _paraphrases(model, features, audio, labels, classes, prompts),
    }


def evaluate_unseen(model: CompactClap, features: TextFeatures, clips: ClipSet, trained: Mapping[str, Phrase],
                    unseen: Mapping[str, Phrase]) -> dict[str, Any]:
    """Zero-shot scores of the clips of classes held out of training (``unseen``, in order), as a JSON-able dict.

    Each clip is ranked against the held-out classes' prompts alone (``top1``, ``top5``, per class) and
    against every class's prompts, trained and held out (``top1_all``)."""
    model.eval()
    rows = [i for i, label in enumerate(clips.labels) if label in unseen]
    if not rows:
        raise ValueError("none of the clips is of a held-out class")
    classes = list(unseen) + [c for c in trained if c not in unseen]
    index = {c: i for i, c in enumerate(classes)}
    labels = [clips.labels[i] for i in rows]
    truth = torch.tensor([index[label] for label in labels])
    audio = embed_clips(model, clips)[rows]
    prompts = embed_texts(model, features, [class_prompt(c, ({**trained, **unseen})[c]) for c in classes])
    among_unseen = zero_shot(audio, prompts[: len(unseen)], truth)
    among_all = zero_shot(audio, prompts, truth)
    return {
        "classes": len(unseen), "all_classes": len(classes), "clips": len(rows),
        "chance_top1": 1.0 / len(unseen), "chance_top1_all": 1.0 / len(classes),
        "top1": float((among_unseen < 1).float().mean()), "top5": float((among_unseen < 5).float().mean()),
        "top1_all": float((among_all < 1).float().mean()),
        "per_class_top1": {c: float((among_unseen[r] < 1).float().mean()) for c, r in _rows_by(labels).items()},
    }


def _rows_by(keys: Sequence[str]) -> dict[str, list[int]]:
    """Row indices per distinct key, keys sorted."""
    rows: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        rows.setdefault(key, []).append(i)
    return dict(sorted(rows.items()))


def _retrieval(audio: torch.Tensor, captions: torch.Tensor, truth: torch.Tensor, rank: torch.Tensor) -> dict[str, float]:
    scores = captions @ audio.T
    scores.fill_diagonal_(float("-inf"))  # a clip does not retrieve itself
    order = scores.argsort(dim=1, descending=True)[:, :5]
    hits = truth[order] == truth[:, None]
    return {"audio_to_text_r1": float((rank < 1).float().mean()), "audio_to_text_r5": float((rank < 5).float().mean()),
            "text_to_audio_r1": _recall(hits, 1), "text_to_audio_r5": _recall(hits, 5)}


def _paraphrases(model: CompactClap, features: TextFeatures, audio: torch.Tensor, labels: Sequence[str],
                 classes: Sequence[str], prompts: torch.Tensor) -> list[dict[str, Any]]:
    rows = []
    for para in paraphrases_for(set(labels)):
        query = embed_texts(model, features, [para.query])
        others = [i for i, c in enumerate(classes) if c not in para.targets]
        scores = audio @ torch.cat([query, prompts[others]]).T
        targets = torch.tensor([label in para.targets for label in labels])
        top10 = (audio @ query[0]).argsort(descending=True)[:10]
        rows.append({
            "query": para.query, "targets": list(para.targets), "clips": int(targets.sum()),
            "accuracy": float((scores[targets].argmax(dim=1) == 0).float().mean()),
            "chance": 1.0 / (len(others) + 1),
            "precision_at_10": float(targets[top10].float().mean()),
            "target_share": float(targets.float().mean()),
        })
    return rows


def format_report(report: dict[str, Any]) -> str:
    """A run's report (its ``splits``, each scored by :func:`evaluate`) as Markdown tables."""
    parts = [f"### {split} clips\n\n{format_scores(scores)}" for split, scores in report["splits"].items()]
    return "\n".join(parts)


def format_scores(report: dict[str, Any]) -> str:
    """The scores of one split as Markdown tables."""
    r = report["retrieval"]
    lines = [
        (f"Zero-shot classification over {report['classes']} classes, {report['clips']} held-out clips "
         f"(chance {report['chance_top1']:.1%}):"),
        "",
        "| clips | top-1 | top-5 | macro top-1 | audio→text R@1 | R@5 | text→audio R@1 | R@5 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        (f"| all ({report['clips']}) | {report['top1']:.1%} | {report['top5']:.1%} | {report['macro_top1']:.1%} "
         f"| {r['audio_to_text_r1']:.1%} | {r['audio_to_text_r5']:.1%} | {r['text_to_audio_r1']:.1%} "
         f"| {r['text_to_audio_r5']:.1%} |"),
    ]
    lines += [f"| {cat} ({row['clips']}) | {row['top1']:.1%} | {row['top5']:.1%} | | | | | |"
              for cat, row in report["per_category"].items()]
    lines += [f"| corpus {name} ({row['clips']}) | {row['top1']:.1%} | {row['top5']:.1%} | | | | | |"
              for name, row in report.get("per_corpus", {}).items()]
    lines += ["", "Per class, top-1:", "", "| class | top-1 |", "| --- | --- |"]
    lines += [f"| {c} | {acc:.1%} |" for c, acc in report["per_class_top1"].items()]
    if report["paraphrases"]:
        lines += ["", "Paraphrased queries (never in training captions):", "",
                  "| query | finds | clips | top-1 | chance | precision@10 | chance |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        lines += [f"| {p['query']} | {', '.join(p['targets'])} | {p['clips']} | {p['accuracy']:.1%} | {p['chance']:.1%} "
                  f"| {p['precision_at_10']:.0%} | {p['target_share']:.1%} |" for p in report["paraphrases"]]
        rows = report["paraphrases"]

        def mean(key: str) -> float:
            return sum(p[key] for p in rows) / len(rows)

        lines.append(f"| mean of {len(rows)} | | | {mean('accuracy'):.1%} | {mean('chance'):.1%} "
                     f"| {mean('precision_at_10'):.0%} | {mean('target_share'):.1%} |")
    if "held_out_classes" in report:
        lines += ["", format_unseen(report["held_out_classes"])]
    return "\n".join(lines) + "\n"


def format_unseen(scores: dict[str, Any]) -> str:
    """The scores of :func:`evaluate_unseen` as a Markdown table."""
    lines = [
        f"Classes held out of training ({scores['classes']} classes, {scores['clips']} clips):",
        "",
        (f"| top-1 among the held-out classes (chance {scores['chance_top1']:.1%}) | top-5 "
         f"| top-1 among all {scores['all_classes']} classes (chance {scores['chance_top1_all']:.1%}) |"),
        "| --- | --- | --- |",
        f"| {scores['top1']:.1%} | {scores['top5']:.1%} | {scores['top1_all']:.1%} |",
        "", "| held-out class | top-1 among the held-out classes |", "| --- | --- |",
    ]
    lines += [f"| {c} | {acc:.1%} |" for c, acc in scores["per_class_top1"].items()]
    return "\n".join(lines)


def write_report(run_dir: Path, report: dict[str, Any]) -> tuple[Path, Path]:
    """``report.json`` and ``report.md`` in ``run_dir``."""
    json_path, table_path = run_dir / "report.json", run_dir / "report.md"
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    table_path.write_text(format_report(report))
    return json_path, table_path
