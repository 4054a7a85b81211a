"""How far apart an encoder's text tower puts paraphrases of one sound and captions of different sounds.

Usage: python scripts/caption_synonyms.py CORPUS [--encoder compact]
Reads CORPUS/manifest.jsonl, takes the distinct captions of its single-label clips, and
prints, per label, the lowest cosine between two of its captions and the highest to another
label's; then the range of ``[loss] synonym_cosine`` values that pair every paraphrase and no
two labels (empty when the tower does not separate them).
"""
import argparse
import json
from collections import defaultdict
from pathlib import Path

import torch

from soundsift.model import EncoderSpec
from soundsift.model.encoders import build_encoder

parser = argparse.ArgumentParser()
parser.add_argument("corpus", type=Path)
parser.add_argument("--encoder", default="compact")
args = parser.parse_args()

captions: dict[str, set[str]] = defaultdict(set)
with open(args.corpus / "manifest.jsonl") as f:
    for line in f:
        row = json.loads(line)
        if len(row["labels"]) == 1:
            captions[row["labels"][0]].add(row["caption"])
labels = sorted(captions)
texts = [c for label in labels for c in sorted(captions[label])]
owner = torch.tensor([labels.index(label) for label in labels for _ in captions[label]])

encoder = build_encoder(EncoderSpec(name=args.encoder)).eval()
with torch.no_grad():
    emb = torch.nn.functional.normalize(encoder.encode_text(texts), dim=-1)
cosine = emb @ emb.T
same = owner[:, None] == owner[None]
self_pair = torch.eye(len(texts), dtype=torch.bool)
print(f"{len(texts)} captions of {len(labels)} labels ({args.encoder} text tower)")
for i, label in enumerate(labels):
    rows = owner == i
    own = cosine[rows][:, rows][~self_pair[rows][:, rows]]
    other = cosine[rows][:, ~rows]
    print(f"{label:20s} own min {own.min():.3f}  other max {other.max():.3f}")
lowest_same = cosine[same & ~self_pair].min().item()
highest_other = cosine[~same].max().item()
print(f"paraphrases >= {lowest_same:.3f}; different labels <= {highest_other:.3f}")
if highest_other < lowest_same:
    print(f"synonym_cosine in ({highest_other:.3f}, {lowest_same:.3f}] pairs every paraphrase and no two labels")
else:
    print("no threshold separates them")
