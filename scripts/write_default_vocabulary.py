"""Write the bundled default model's vocabulary.json from the tables its training data was built from.

The default model was trained on the `default-model` recipe's corpora (music, speech, sfx),
whose classes are the vocabulary tables of ``soundsift.training.data.vocabulary``; every
single source was queried by one of its class's caption forms.  The training-data summary
(hours per corpus, sources) is in ``scripts/data/default-training-data.json``.  A confidence
calibration already in the file is kept.  Usage:

    python scripts/write_default_vocabulary.py [MODEL_DIR]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from soundsift.training.data import vocabulary as tables
from soundsift.training.model_vocabulary import vocabulary_from_labels
from soundsift.vocabulary import Corpus, read_vocabulary, write_vocabulary

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "scripts" / "data" / "default-training-data.json"


def main(model_dir: Path) -> None:
    spec = json.loads(DATA.read_text(encoding="utf-8"))
    labels = {c["name"]: list(getattr(tables, c["table"])) for c in spec["corpora"]}
    corpora = [Corpus(c["name"], len(labels[c["name"]]), float(c["train_hours"]), c["sources"]) for c in spec["corpora"]]
    vocabulary = vocabulary_from_labels(labels, corpora, spec["summary"])
    old = read_vocabulary(model_dir)
    if old is not None and old.threshold is not None:
        vocabulary = vocabulary.with_threshold(old.threshold, old.calibration)
    print(write_vocabulary(model_dir, vocabulary))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "soundsift" / "pretrained" / "default")
