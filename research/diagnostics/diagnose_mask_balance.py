"""How much of a queried source a separator passes, and how much of the other source, on a test set.

Usage: python -m research.diagnostics.diagnose_mask_balance MODEL_DIR TESTSET [LIMIT] [--confusion]
(LIMIT mixtures, default 60).  For every stem, queried as the evaluation queries it ("the sound
of ..."), prints the energy-weighted mean mask over the bins its own source dominates
(|S| > 3 |other|) and over the bins the other source dominates, and the energy histogram of the
mask on the former.  A weak model that splits bins evenly among clauses shows a low first number.
``--confusion``: every stem is also queried with every label of the test set, and a table gives
the mean mask of each query on each class's dominant bins: a dead query (near 0 on its own
class) or a catch-all one (high on many classes) shows as a column.
"""
import argparse
from pathlib import Path

import numpy as np
import torch

from soundsift.model.checkpoint import load_checkpoint
from soundsift.training import regimes
from soundsift.training.evaluate import QUERY_TEMPLATE, load_testset

torch.set_num_threads(1)
parser = argparse.ArgumentParser()
parser.add_argument("model", type=Path)
parser.add_argument("testset", type=Path)
parser.add_argument("limit", type=int, nargs="?", default=60)
parser.add_argument("--confusion", action="store_true", help="query every stem with every label")
args = parser.parse_args()
net, enc = load_checkpoint(args.model)
net.eval()
enc.eval()
items = load_testset(args.testset, args.limit)
labels = sorted({label for item in items for label in item.labels})


def masks_for(mag: torch.Tensor, queries: list[str]) -> torch.Tensor:
    """Sigmoid masks of one mixture for several text queries. -> (Q, F, T)."""
    return torch.sigmoid(net.mask_logits(mag, regimes.query_for(enc, [queries], mag.device)))[0]


def mean_mask(mask: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Energy-weighted mean of each mask over the weighted bins. (Q, F, T), (F, T) -> (Q,)."""
    return (mask * weight).sum(dim=(-2, -1)) / weight.sum()


own, other, hist = [], [], np.zeros(10)
confusion = {label: [] for label in labels}
for item in items:
    if item.sample_rate != net.config.stft.sample_rate:
        raise SystemExit(f"{item.name}: {item.sample_rate} Hz, the model works at {net.config.stft.sample_rate} Hz")
    with torch.no_grad():
        mag = net.spectrogram(torch.from_numpy(item.mixture.astype(np.float32))[None]).abs()
        queried = labels if args.confusion else list(item.labels)  # every label includes the stems' own
        every = masks_for(mag, [QUERY_TEMPLATE.format(label=label) for label in queried])
        masks = every[[queried.index(label) for label in item.labels]]
        refs = [net.spectrogram(torch.from_numpy(s.astype(np.float32))[None]).abs()[0] for s in item.stems]
    energy = mag[0] ** 2
    for i, mask in enumerate(masks):
        target, rest = refs[i], sum(r for j, r in enumerate(refs) if j != i)
        mine, theirs = energy * (target > 3 * rest), energy * (rest > 3 * target)
        own.append(float(mean_mask(mask, mine)))
        other.append(float(mean_mask(mask, theirs)))
        hist += np.histogram(mask.numpy(), bins=10, range=(0, 1), weights=mine.numpy())[0]
        if args.confusion:
            confusion[item.labels[i]].append(mean_mask(every, mine).numpy())
print(f"{args.model}: mean mask on its own source's bins {np.mean(own):.3f}, on the other source's bins {np.mean(other):.3f}")
print("  energy share of its own bins by mask value (0-0.1, ..., 0.9-1):", np.round(hist / hist.sum(), 3).tolist())
if args.confusion:
    print("rows: the stems' class; columns: the query; value: mean mask on the stems' dominant bins")
    print(" " * 14 + " ".join(f"{label[:5]:>5}" for label in labels))
    for label in labels:
        row = np.mean(confusion[label], axis=0)
        print(f"{label[:13]:13} " + " ".join(f"{x:5.2f}" for x in row) + f"   best: {labels[int(row.argmax())]}")
