"""Training losses as plain functions returning one value per batch item ``(batch,)``.

Reduction over the batch is the trainer's job.  Spectral losses compare magnitudes
``(batch, ..., freq, time)`` under the weighted L1 of docs/method.md:
L1_W(a, b) = mean(W * |a - b|), W = clamp(log1p |X|, 1e-3, 10) with X the input mixture.

References: Mahmud et al., "Weakly-supervised Audio Separation via Bi-modal Semantic
Similarity", ICLR 2024 (L_URL, L_CRL, L_CNT); Wisdom et al., "Unsupervised
Sound Separation Using Mixture Invariant Training", NeurIPS 2020 (MixIT); Dong et al.,
"CLIPSep", ICLR 2023 (noise invariant training).
"""
from __future__ import annotations

import itertools
from collections.abc import Callable

import torch
import torch.nn.functional as F

PairLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _check_same_shape(name: str, a: torch.Tensor, b: torch.Tensor) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{name}: shapes differ, got {tuple(a.shape)} and {tuple(b.shape)}")


def _check_clauses(name: str, clause_est: torch.Tensor, clause_weights: torch.Tensor) -> None:
    if clause_est.shape[:3] != clause_weights.shape:
        raise ValueError(
            f"{name}: clause_est {tuple(clause_est.shape)} and clause_weights "
            f"{tuple(clause_weights.shape)} disagree on (batch, N, P)"
        )


def spectral_weight(mixture_mag: torch.Tensor) -> torch.Tensor:
    """W = clamp(log1p |X|, 1e-3, 10). Shape: (batch, freq, time) -> same."""
    return torch.log1p(mixture_mag).clamp(1e-3, 10.0)


def weighted_l1(est: torch.Tensor, ref: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """mean(W * |est - ref|) per batch item.

    Shapes: est, ref (batch, *, freq, time); weight (batch, freq, time) -> (batch,).
    """
    _check_same_shape("weighted_l1", est, ref)
    w = weight.reshape(weight.shape[0], *([1] * (est.dim() - 3)), *weight.shape[-2:])
    return (w * (est - ref).abs()).flatten(1).mean(dim=1)


def reconstruction_loss(est: torch.Tensor, refs: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """sum_n L1_W(est_n, ref_n): mix-and-separate reconstruction.

    With ``est_n = S(caption of x_n)`` and ``refs = |X_n|`` this is the paper's L_URL; with
    single-source references and label queries it is supervised mix-and-separate.
    Shapes: est, refs (batch, N, freq, time); weight (batch, freq, time) -> (batch,).
    """
    _check_same_shape("reconstruction_loss", est, refs)
    return sum(weighted_l1(est[:, n], refs[:, n], weight) for n in range(est.shape[1]))


def consistency_loss(
    clause_est: torch.Tensor, clause_weights: torch.Tensor, refs: torch.Tensor, weight: torch.Tensor
) -> torch.Tensor:
    """L_CRL = sum_n L1_W(sum_k w_n^k S(t_n^k), |X_n|): clause separations add back up to x_n.

    Shapes: clause_est (batch, N, P, freq, time); clause_weights (batch, N, P);
    refs (batch, N, freq, time); weight (batch, freq, time) -> (batch,).
    """
    _check_clauses("consistency_loss", clause_est, clause_weights)
    combined = (clause_est * clause_weights[..., None, None]).sum(dim=2)
    return reconstruction_loss(combined, refs, weight)


def semantic_loss(
    audio_emb: torch.Tensor, text_emb: torch.Tensor, targets: torch.Tensor, logit_scale: float
) -> torch.Tensor:
    """L_CNT: cross-entropy pulling each separation's audio embedding to its own clause.

    Each of the M separations is scored (cosine times ``logit_scale``) against the U distinct
    clause texts of the batch; ``targets[m]`` is the index of separation m's clause.
    Gradients flow into ``audio_emb`` (and from there, through the frozen encoder, into the
    separator).  Shapes: audio_emb (M, D), text_emb (U, D), targets (M,) -> (M,).
    """
    if audio_emb.shape[-1] != text_emb.shape[-1]:
        raise ValueError(f"semantic_loss: embedding sizes differ, {audio_emb.shape[-1]} vs {text_emb.shape[-1]}")
    logits = logit_scale * F.normalize(audio_emb, dim=-1) @ F.normalize(text_emb, dim=-1).T
    return logits.logsumexp(dim=-1) - logits.gather(1, targets[:, None]).squeeze(1)


def match_long_term_spectrum(magnitude: torch.Tensor, reference: torch.Tensor, max_gain_db: float) -> torch.Tensor:
    """``magnitude`` (..., freq, time) with each bin's mean over time set to ``reference`` (..., freq).

    Not in the paper.  Undoes any time-invariant filter: an estimate that is only its part
    coloured towards a clause's timbre comes back as the uncoloured part, so an encoder that
    hears the result can only be satisfied by what changes over time, i.e. by separation.
    Gains are capped at ``max_gain_db`` so that near-silent bins stay quiet.
    """
    gain = reference / magnitude.mean(dim=-1).clamp_min(1e-8)
    return magnitude * gain.clamp(max=10 ** (max_gain_db / 20))[..., None]


def neg_snr(est: torch.Tensor, ref: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Negative SNR in dB per item, soft-thresholded as in MixIT. Shape: (batch, time) -> (batch,)."""
    _check_same_shape("neg_snr", est, ref)
    noise = (ref - est).pow(2).sum(-1)
    signal = ref.pow(2).sum(-1)
    return 10 * torch.log10(noise + 1e-3 * signal + eps) - 10 * torch.log10(signal + eps)


def _assignments(n_items: int, n_groups: int) -> torch.Tensor:
    """All ways to send each of n_items to one of n_groups, as one-hot (A, groups, items)."""
    rows = list(itertools.product(range(n_groups), repeat=n_items))
    return F.one_hot(torch.tensor(rows), n_groups).permute(0, 2, 1).float()


def mixit_loss(est: torch.Tensor, mixtures: torch.Tensor, loss: PairLoss = neg_snr) -> torch.Tensor:
    """Mixture invariant training: best assignment of M estimates to the 2 (or more) mixtures.

    Shapes: est (batch, M, time); mixtures (batch, G, time) -> (batch,).  ``loss`` maps
    ``(batch, time)`` pairs to ``(batch,)``.
    """
    m = est.shape[1]
    g = mixtures.shape[1]
    options = _assignments(m, g).to(est)
    remixed = torch.einsum("agm,bmt->abgt", options, est)
    totals = torch.stack(
        [sum(loss(remixed[a, :, j], mixtures[:, j]) for j in range(g)) for a in range(options.shape[0])]
    )
    return totals.min(dim=0).values


def noise_invariant_loss(
    query_est: torch.Tensor, noise_est: torch.Tensor, mixture_mags: torch.Tensor, weight: torch.Tensor
) -> torch.Tensor:
    """CLIPSep's noise invariant training on magnitudes.

    Query head i must explain mixture i together with whichever noise heads fit it best:
    min over assignments of noise heads to mixtures of sum_i L1_W(q_i + sum_{h->i} n_h, |X_i|).
    Shapes: query_est (batch, G, F, T); noise_est (batch, H, F, T); mixture_mags (batch, G, F, T);
    weight (batch, F, T) -> (batch,).
    """
    _check_same_shape("noise_invariant_loss", query_est, mixture_mags)
    options = _assignments(noise_est.shape[1], query_est.shape[1]).to(noise_est)
    totals = torch.stack(
        [
            reconstruction_loss(query_est + torch.einsum("gh,bhft->bgft", option, noise_est), mixture_mags, weight)
            for option in options
        ]
    )
    return totals.min(dim=0).values
