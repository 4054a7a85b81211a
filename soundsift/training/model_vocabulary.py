"""The vocabulary a trained or fine-tuned model carries (:mod:`soundsift.vocabulary`), built from what it was trained on.

A class's phrasings are the captions its single sources were queried by during training
(:func:`~soundsift.training.data.compose.caption_forms` of its vocabulary entry, or the
corpus's own captions for a class the vocabulary table does not have); the training-data
summary counts the train split's classes and hours per category.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from soundsift.training.captions import split_caption
from soundsift.training.data.compose import caption_forms
from soundsift.training.data.manifest import Entry
from soundsift.training.data.vocabulary import VOCABULARY
from soundsift.vocabulary import Corpus, SoundClass, Vocabulary

CORPUS_CAPTIONS = 5  # phrasings kept for a class known only from its corpus captions


def class_phrases(label: str, captions: Iterable[str] = ()) -> tuple[str, ...]:
    """The training phrasings of one class: its caption forms, else its most frequent corpus captions."""
    if label in VOCABULARY:
        return tuple(caption_forms(VOCABULARY[label]))
    counts: dict[str, int] = defaultdict(int)
    for caption in captions:
        counts[caption.strip()] += 1
    ranked = sorted((c for c in counts if c and c != label), key=lambda c: (-counts[c], c))
    return tuple(ranked[:CORPUS_CAPTIONS])


def vocabulary_from_labels(labels: Mapping[str, Sequence[str]], corpora: Sequence[Corpus] = (),
                           summary: str = "") -> Vocabulary:
    """A vocabulary for classes given per category (``{"music": ["violin", ...], ...}``), all in the table."""
    classes = tuple(SoundClass(label, category, class_phrases(label))
                    for category, names in labels.items() for label in names)
    return Vocabulary(classes, tuple(corpora), summary)


def vocabulary_from_entries(entries: Iterable[Entry]) -> Vocabulary:
    """A vocabulary from the single-source train clips a model was trained on (the trainer's pool)."""
    captions: dict[str, list[str]] = defaultdict(list)
    category: dict[str, str] = {}
    seconds: dict[str, float] = defaultdict(float)
    sources: dict[str, set[str]] = defaultdict(set)
    for entry in entries:
        captions[entry.label].append(entry.caption)
        category.setdefault(entry.label, entry.category)
        seconds[entry.category] += entry.duration
        sources[entry.category].add(f"{entry.source} ({entry.licence})")
    classes = tuple(SoundClass(label, category[label], class_phrases(label, captions[label]))
                    for label in sorted(captions, key=lambda lab: (category[lab], lab)))
    corpora = tuple(Corpus(name, sum(1 for c in classes if c.category == name), round(seconds[name] / 3600, 2),
                           ", ".join(sorted(sources[name]))) for name in sorted(seconds))
    summary = "; ".join(f"{c.name} ({c.classes} classes, {c.train_hours:g} h)" for c in corpora)
    return Vocabulary(classes, corpora, summary)


def finetuned_vocabulary(base: Vocabulary | None, clips: Iterable[tuple[str, float]], library: str) -> Vocabulary:
    """A fine-tuned model's vocabulary: its base model's, plus each distinct clause of the library's
    training captions (what the weak method queries by) as a class of category "library".

    ``clips`` are ``(caption, seconds)`` of the training files.  The base's confidence threshold
    is kept: the query encoder is the same, and added phrases only bring queries nearer.
    """
    clips = list(clips)
    known = {text for text, _ in base.phrases()} if base is not None else set()
    clauses = dict.fromkeys(clause for caption, _ in clips for clause in split_caption(caption))
    added = tuple(SoundClass(clause, "library", ()) for clause in clauses if clause not in known)
    hours = round(sum(seconds for _, seconds in clips) / 3600, 2)
    corpus = Corpus("library", len(clauses), hours, f"recordings in {library}, captioned")
    summary = f"fine-tuned on {library} ({len(clauses)} captioned sounds, {hours:g} h)"
    if base is None:
        return Vocabulary(added, (corpus,), summary)
    summary += f"; base model: {base.summary}" if base.summary else ""
    return replace(base, classes=base.classes + added, corpora=base.corpora + (corpus,), summary=summary)
