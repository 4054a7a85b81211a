"""How well the frozen encoder tells clause separations apart (L_CNT), against the true sources.

Usage: python scripts/diagnose_semantic_loss.py K CORPUS [MODEL_DIR] [--synonym-cosine C]
(K sources per part; no model: untrained; C: score paraphrases as one clause, as ``[loss] synonym_cosine``)
Prints cross-entropy and accuracy of the true sources, of the parts, and of the model's clause
separations against the batch's distinct clause texts (4 batches of 6 items, seed 123), and
the SDR of each separation against its true source.
"""
import argparse
from pathlib import Path

import numpy as np
import torch

from soundsift.model.checkpoint import load_checkpoint
from soundsift.model.factory import init_model
from soundsift.training import losses
from soundsift.training import regimes as R
from soundsift.training.batches import BatchSource
from soundsift.training.bench_quality import BUDGETS, ROWS, row_recipe
from soundsift.training.captions import clauses_with_weights

torch.set_num_threads(1)
parser = argparse.ArgumentParser()
parser.add_argument("k", type=int)
parser.add_argument("corpus", type=Path)
parser.add_argument("model", nargs="?")
parser.add_argument("--synonym-cosine", type=float, default=0.0)
args = parser.parse_args()
k, corpus, model = args.k, args.corpus, args.model
row = next(r for r in ROWS if r.name == f"weak-{k}")
rec = row_recipe(row, BUDGETS["small"], corpus, None, 0)
if model:
    net, enc = load_checkpoint(model)
else:
    net, enc = init_model(rec.model, seed=0)
enc.eval()
sr = rec.model.stft.sample_rate
src = BatchSource(rec.data, sr, 6)
rng = np.random.default_rng(123)
print("logit scale", enc.logit_scale)
samples = src.samples
def ce(waves, texts):
    with torch.no_grad():
        a = enc.encode_audio(waves, sr)
        distinct = list(dict.fromkeys(texts))
        t = enc.encode_text(distinct)
        tg = torch.tensor([distinct.index(x) for x in texts])
        none = torch.zeros(len(distinct), len(distinct), dtype=torch.bool)
        synonyms = R.synonym_matrix(t, args.synonym_cosine) if args.synonym_cosine > 0 else none
        l = losses.semantic_loss(a, t, tg, enc.logit_scale, synonyms)
        logits = torch.nn.functional.normalize(a, dim=-1) @ torch.nn.functional.normalize(t, dim=-1).T
        correct = synonyms[tg] | torch.nn.functional.one_hot(tg, len(distinct)).bool()
        acc = correct.gather(1, logits.argmax(-1, keepdim=True)).float().mean()
    return l.mean().item(), acc.item(), len(distinct)
res = {"oracle": [], "part": [], "est": [], "est_sdr": []}
for it in range(4):
    waves, texts, parts_w, part_texts, est_w = [], [], [], [], []
    caps = []
    pw = []
    for b in range(6):
        mom = src.weak.mixture_of_mixtures(rng, 2)
        start = int(rng.integers(0, mom.audio.shape[-1] - samples + 1))
        item_parts = []
        for m in mom.mixtures:
            wc = clauses_with_weights(m.caption, rec.loss.clauses)
            # map clause order to source order: compose uses clip order
            for s, c in zip(m.sources, wc.clauses):
                waves.append(s[start:start+samples]); texts.append(c)
                parts_w.append(m.audio[start:start+samples])
            item_parts.append(m.audio[start:start+samples])
        pw.append(np.stack(item_parts)); caps.append([m.caption for m in mom.mixtures])
    W = torch.tensor(np.stack(waves), dtype=torch.float32)
    res["oracle"].append(ce(W, texts))
    res["part"].append(ce(torch.tensor(np.stack(parts_w), dtype=torch.float32), texts))
    batch = R.MixtureBatch(torch.tensor(np.stack(pw), dtype=torch.float32), caps, torch.zeros(6, 2, dtype=torch.bool))
    with torch.no_grad():
        spec = R.spectra(net, batch)
        split = [[clauses_with_weights(c, rec.loss.clauses) for c in item] for item in caps]
        ct = [[t for wc in item for t in wc.clauses] for item in split]
        est = R.separate(net, enc, spec, ct)
        wav = R.resynthesise(net, spec, est, samples).flatten(0, 1)
    flat = [t for item in ct for t in item]
    res["est"].append(ce(wav, flat))
    # sdr of each clause estimate vs its oracle source (order matches)
    e, r = wav.numpy(), W.numpy()
    sdr = 10*np.log10((r**2).sum(-1)/(((r-e)**2).sum(-1)+1e-9)+1e-9)
    res["est_sdr"].append((float(np.mean(sdr)), 0, 0))
for key, v in res.items():
    print(key, "CE {:.3f} acc {:.3f} distinct {:.1f}".format(*tuple(np.array(v).mean(0))))
