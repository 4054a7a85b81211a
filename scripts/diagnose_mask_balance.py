"""How much of a queried source a separator passes, and how much of the other source, on a test set.

Usage: python scripts/diagnose_mask_balance.py MODEL_DIR TESTSET [LIMIT]  (LIMIT mixtures, default 60)
For every stem, queried as the evaluation queries it ("the sound of ..."), prints the
energy-weighted mean mask over the bins its own source dominates (|S| > 3 |other|) and over
the bins the other source dominates, and the energy histogram of the mask on the former.
A weak model that splits bins evenly among clauses shows a low first number (about 1/P).
"""
import sys

import numpy as np
import torch

from soundsift.model.checkpoint import load_checkpoint
from soundsift.training import regimes
from soundsift.training.evaluate import QUERY_TEMPLATE, load_testset

torch.set_num_threads(1)
model = sys.argv[1]
limit = int(sys.argv[3]) if len(sys.argv) > 3 else 60
net, enc = load_checkpoint(model)
net.eval()
enc.eval()
own, other, hist = [], [], np.zeros(10)
for item in load_testset(sys.argv[2], limit):
    if item.sample_rate != net.config.stft.sample_rate:
        sys.exit(f"{item.name}: {item.sample_rate} Hz, the model works at {net.config.stft.sample_rate} Hz")
    queries = [QUERY_TEMPLATE.format(label=label) for label in item.labels]
    with torch.no_grad():
        mag = net.spectrogram(torch.from_numpy(item.mixture.astype(np.float32))[None]).abs()
        masks = torch.sigmoid(net.mask_logits(mag, regimes.query_for(enc, [queries], mag.device)))[0]
        refs = [net.spectrogram(torch.from_numpy(s.astype(np.float32))[None]).abs()[0] for s in item.stems]
    energy = mag[0] ** 2
    for i, mask in enumerate(masks):
        target, rest = refs[i], sum(r for j, r in enumerate(refs) if j != i)
        mine, theirs = target > 3 * rest, rest > 3 * target
        own.append(float((mask * energy * mine).sum() / (energy * mine).sum()))
        other.append(float((mask * energy * theirs).sum() / (energy * theirs).sum()))
        hist += np.histogram(mask[mine].numpy(), bins=10, range=(0, 1), weights=energy[mine].numpy())[0]
print(f"{model}: mean mask on its own source's bins {np.mean(own):.3f}, on the other source's bins {np.mean(other):.3f}")
print("  energy share of its own bins by mask value (0-0.1, ..., 0.9-1):", np.round(hist / hist.sum(), 3).tolist())
