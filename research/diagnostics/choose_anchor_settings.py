"""Pick the compact CLAP's vocabulary-anchor settings on validation clips and dev paraphrases.

The dev paraphrases below are disjoint from the evaluation paraphrases in
``research.clap.captions.PARAPHRASES``, and the clips are the corpora's
``val`` split, so the test report stays untouched by the choice.  For each
(temperature, weight) it prints zero-shot top-1 over the class prompts and the mean
paraphrase accuracy (scored as the report scores paraphrases).

    python -m research.diagnostics.choose_anchor_settings --weights RUN/encoder --corpus DIR [--corpus DIR ...]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from research.clap.captions import class_prompt
from research.clap.clips import load_clips
from research.clap.report import embed_clips
from research.clap.text_features import TextFeatures
from research.clap.trainer import training_captions
from soundsift.model.encoders.compact_weights import read_weights
from soundsift.model.encoders.minilm_files import locate_minilm
from soundsift.training.data.vocabulary import Paraphrase

DEV_PARAPHRASES = (
    Paraphrase("a squeezebox", ("accordion",)), Paraphrase("a spanish guitar", ("acoustic guitar",)),
    Paraphrase("cattle mooing", ("cow",)), Paraphrase("a lamb", ("sheep",)), Paraphrase("a pony", ("horse",)),
    Paraphrase("a hog", ("pig",)), Paraphrase("a big cat roaring", ("lion",)),
    Paraphrase("a thunderstorm", ("thunder",)), Paraphrase("an audience", ("crowd",)),
    Paraphrase("a shovel", ("digging",)), Paraphrase("an axe", ("chopping wood",)),
    Paraphrase("a shriek", ("scream",)), Paraphrase("a marimba", ("xylophone",)),
    Paraphrase("a male voice", ("man speaking",)), Paraphrase("a female voice", ("woman speaking",)),
    Paraphrase("rustling foliage", ("leaves",)), Paraphrase("a river", ("water",)),
    Paraphrase("a kick drum", ("drums",)), Paraphrase("a grand piano", ("piano",)),
    Paraphrase("a pachyderm", ("elephant",)), Paraphrase("a hen", ("chicken",)),
    Paraphrase("galloping", ("hooves",)), Paraphrase("a gust", ("wind",)), Paraphrase("a motor", ("engine",)),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, required=True)
    parser.add_argument("--corpus", dest="corpora", action="append", required=True)
    args = parser.parse_args()
    torch.set_num_threads(2)
    model = read_weights(args.weights)
    rate = model.config.audio.sample_rate
    train = load_clips(args.corpora, "train", rate, 4.0)
    val = load_clips(args.corpora, "val", rate, 4.0)
    words = train.class_words()
    classes = list(words)
    features = TextFeatures(locate_minilm())
    table, _ = training_captions(train, classes)
    pooled = features(table)
    with torch.no_grad():
        audio = embed_clips(model, val)
    labels = val.labels
    truth = torch.tensor([classes.index(lab) for lab in labels])
    prompt_states = features([class_prompt(c, words[c]) for c in classes])
    for temperature in (0.02, 0.05, 0.1):
        for weight in (0.0, 0.5, 1.0, 2.0):
            model.attach_anchors(pooled, temperature, weight)
            with torch.no_grad():
                prompts = model.embed_pooled(prompt_states)
                top1 = float(((audio @ prompts.T).argmax(1) == truth).float().mean())
                scores = []
                for para in DEV_PARAPHRASES:
                    rows = torch.tensor([lab in para.targets for lab in labels])
                    if not rows.any():
                        continue
                    query = model.embed_pooled(features([para.query]))
                    others = [i for i, c in enumerate(classes) if c not in para.targets]
                    sims = audio[rows] @ torch.cat([query, prompts[others]]).T
                    scores.append(float((sims.argmax(1) == 0).float().mean()))
            print(f"temperature {temperature:<5} weight {weight:<4} zero-shot top-1 {top1:.3f}  "
                  f"dev paraphrases {sum(scores) / len(scores):.3f} (over {len(scores)})")


if __name__ == "__main__":
    main()
