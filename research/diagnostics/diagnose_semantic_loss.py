"""How well the frozen encoder tells clause separations apart (L_CNT), against the true sources.

Usage: python -m research.diagnostics.diagnose_semantic_loss K CORPUS [MODEL_DIR] [--whiten DB] [--colour]
       [--quiet DB ...]
(K sources per part; no model: untrained; --whiten DB: the encoder hears everything with its long-term spectrum set to its part's by gains
of at most DB, as ``[loss] semantic_whiten``)
Prints cross-entropy and accuracy of the true sources, of hedged sources (each source plus
the whole of its part, halved), of the parts, and of the model's clause separations against
the batch's distinct clause texts (4 batches of 6 items, seed 123), and the SDR of each
separation against its true source.  --colour adds "coloured": each part under the
time-invariant per-bin gain (at most 1, 40 dB range; 80 Adam steps) that best makes the
encoder hear its clause, and that gain's SDR against the true source (scale-invariant), to
show whether L_CNT can be met without separating anything.  --quiet DB (repeatable) adds the
true sources turned down by DB ("quiet-DB"), to show how much of a clause's level the encoder hears.
"""
import argparse
from pathlib import Path

import numpy as np
import torch

from research.bench import BUDGETS, ROWS, row_recipe
from soundsift.model.checkpoint import load_checkpoint
from soundsift.model.factory import init_model
from soundsift.model.frontend import istft
from soundsift.training import losses
from soundsift.training import regimes as R
from soundsift.training.batches import BatchSource
from soundsift.training.captions import clauses_with_weights

torch.set_num_threads(1)
parser = argparse.ArgumentParser()
parser.add_argument("k", type=int)
parser.add_argument("corpus", type=Path)
parser.add_argument("model", nargs="?")
parser.add_argument("--whiten", type=float, default=0.0, metavar="DB")
parser.add_argument("--colour", action="store_true")
parser.add_argument("--quiet", type=float, action="append", default=[], metavar="DB")
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
stft_cfg = rec.model.stft


def heard(spec, parts):
    """What the encoder hears of STFTs ``spec``: their waves, or with --whiten (as in training, before
    resynthesis) the waves of ``spec`` with its long-term spectrum set to its parts'."""
    if args.whiten > 0:
        reference = net.spectrogram(parts).abs().mean(dim=-1)
        spec = losses.match_long_term_spectrum(spec.abs(), reference, args.whiten) * torch.sgn(spec)
    return istft(spec, stft_cfg.n_fft, stft_cfg.hop_length, samples)


def scores(spec, parts, texts):
    """Per-item L_CNT (with gradients) against the distinct texts, and what it was computed from."""
    a = enc.encode_audio(heard(spec, parts), sr)
    distinct = list(dict.fromkeys(texts))
    with torch.no_grad():
        t = enc.encode_text(distinct)
    tg = torch.tensor([distinct.index(x) for x in texts])
    return losses.semantic_loss(a, t, tg, enc.logit_scale), a, t, tg


def coloured(parts, texts):
    """STFTs of the parts under the time-invariant gain (one per part) that best satisfies L_CNT."""
    spec = net.spectrogram(parts)
    gain_db = torch.zeros(spec.shape[:2], requires_grad=True)
    opt = torch.optim.Adam([gain_db], lr=0.1)
    for _ in range(80):
        gain = 10 ** (40 * torch.tanh(gain_db) / 20)
        gain = gain / gain.amax(dim=1, keepdim=True)
        loss = scores(spec * gain[..., None], parts, texts)[0].mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return (spec * gain[..., None]).detach()


def scale_invariant_sdr(est, ref):
    alpha = (est * ref).sum(-1, keepdims=True) / ((est * est).sum(-1, keepdims=True) + 1e-9)
    return float(np.mean(10 * np.log10((ref ** 2).sum(-1) / (((ref - alpha * est) ** 2).sum(-1) + 1e-9) + 1e-9)))


def ce(waves, parts, texts):
    """Mean L_CNT and accuracy of waves (or STFTs) against the distinct texts, and how many texts."""
    spec = waves if waves.is_complex() else net.spectrogram(waves)
    with torch.no_grad():
        l, a, t, tg = scores(spec, parts, texts)
        logits = torch.nn.functional.normalize(a, dim=-1) @ torch.nn.functional.normalize(t, dim=-1).T
        acc = (logits.argmax(-1) == tg).float().mean()
    return l.mean().item(), acc.item(), len(t)
res = {"oracle": [], "hedged": [], "part": [], "est": [], "est_sdr": []}
if args.colour:
    res.update(coloured=[], coloured_sdr=[])
for it in range(4):
    waves, texts, parts_w = [], [], []
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
    P = torch.tensor(np.stack(parts_w), dtype=torch.float32)
    res["oracle"].append(ce(W, P, texts))
    res["hedged"].append(ce(0.5 * (W + P), P, texts))
    res["part"].append(ce(P, P, texts))
    for db in args.quiet:
        res.setdefault(f"quiet-{db:g}", []).append(ce(W * 10 ** (-db / 20), P, texts))
    if args.colour:
        C = coloured(P, texts)
        res["coloured"].append(ce(C, P, texts))
        C = istft(C, stft_cfg.n_fft, stft_cfg.hop_length, samples)
        res["coloured_sdr"].append((scale_invariant_sdr(C.numpy(), W.numpy()), 0, 0))
    batch = R.MixtureBatch(torch.tensor(np.stack(pw), dtype=torch.float32), caps, torch.zeros(6, 2, dtype=torch.bool))
    with torch.no_grad():
        spec = R.spectra(net, batch)
        split = [[clauses_with_weights(c, rec.loss.clauses) for c in item] for item in caps]
        ct = [[t for wc in item for t in wc.clauses] for item in split]
        est = R.separate(net, enc, spec, ct)
        wav = R.resynthesise(net, spec, est, samples).flatten(0, 1)
    flat = [t for item in ct for t in item]
    phase = spec.mix / spec.mag.clamp_min(1e-8)
    res["est"].append(ce((est * phase[:, None]).flatten(0, 1), P, flat))
    # sdr of each clause estimate vs its oracle source (order matches)
    e, r = wav.numpy(), W.numpy()
    sdr = 10*np.log10((r**2).sum(-1)/(((r-e)**2).sum(-1)+1e-9)+1e-9)
    res["est_sdr"].append((float(np.mean(sdr)), 0, 0))
for key, v in res.items():
    print(key, "CE {:.3f} acc {:.3f} distinct {:.1f}".format(*tuple(np.array(v).mean(0))))
