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
    Shapes: est, refs (batch, N, freq, time); weight (batch, freq, time), or (batch, N, freq, time)
    for one weight per part -> (batch,).
    """
    _check_same_shape("reconstruction_loss", est, refs)
    per_part = weight.dim() == est.dim()
    return sum(weighted_l1(est[:, n], refs[:, n], weight[:, n] if per_part else weight) for n in range(est.shape[1]))


def consistency_loss(
    clause_est: torch.Tensor, clause_weights: torch.Tensor, refs: torch.Tensor, weight: torch.Tensor
) -> torch.Tensor:
    """L_CRL = sum_n L1_W(sum_k w_n^k S(t_n^k), |X_n|): clause separations add back up to x_n.

    Shapes: clause_est (batch, N, P, freq, time); clause_weights (batch, N, P);
    refs (batch, N, freq, time); weight (batch, freq, time) from the mixture, or (batch, N, freq, time)
    from each part's own magnitude as the official code weighs it -> (batch,).
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


def part_contrastive_loss(audio_emb: torch.Tensor, text_emb: torch.Tensor, logit_scale: float) -> torch.Tensor:
    """L_CNT as the official code computes it: per part, summed over parts.

    For part n, the B*P clause separations of that part across the batch are scored against
    the B*P clause texts of that part, repeats kept (a repeated text is also a negative of
    itself), each separation's own text the target; the cross-entropy is averaged over the
    part's P clauses and summed over the N parts.  The batch mean of the result is the
    official sum over parts of each part's batch-mean cross-entropy.
    Shapes: audio_emb, text_emb (B, N, P, D) -> (B,).
    """
    _check_same_shape("part_contrastive_loss", audio_emb, text_emb)
    b, n, p, _ = audio_emb.shape
    per_part = [
        semantic_loss(audio_emb[:, i].flatten(0, 1), text_emb[:, i].flatten(0, 1),
                      torch.arange(b * p, device=audio_emb.device), logit_scale).reshape(b, p).mean(dim=1)
        for i in range(n)
    ]
    return torch.stack(per_part, dim=1).sum(dim=1)


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


def binary_target(part_mags: torch.Tensor, mixture_mag: torch.Tensor) -> torch.Tensor:
    """CLIPSep's targets: 1 where a part holds more than half of the mixture's magnitude, else 0.

    Shapes: part_mags (batch, G, F, T); mixture_mag (batch, F, T) -> (batch, G, F, T).
    """
    return (part_mags > 0.5 * mixture_mag[:, None]).to(part_mags.dtype)


def _balanced_assignments(n_items: int, n_groups: int) -> torch.Tensor:
    """The ways to send n_items to n_groups with n_items / n_groups in each (permutations when equal)."""
    options = _assignments(n_items, n_groups)
    return options[(options.sum(dim=2) == n_items // n_groups).all(dim=1)]


def noise_invariant_loss(
    query_masks: torch.Tensor, noise_masks: torch.Tensor, targets: torch.Tensor, weight: torch.Tensor
) -> torch.Tensor:
    """CLIPSep's noise invariant training on masks (Dong et al. 2023, as in the official code).

    Query mask i plus the noise masks given to part i, clipped at 1, must give part i's binary
    target under the weighted binary cross-entropy; the noise heads are shared out among the
    parts in equal numbers (a permutation for as many heads as parts), the best way each item.
    min over assignments a of mean_i WBCE(min(1, m_i + sum_{h: a(h)=i} n_h), target_i).
    Shapes: query_masks, targets (batch, G, F, T); noise_masks (batch, H, F, T) with H a multiple
    of G; weight (batch, F, T) -> (batch,).
    """
    _check_same_shape("noise_invariant_loss", query_masks, targets)
    g, h = query_masks.shape[1], noise_masks.shape[1]
    if h % g:
        raise ValueError(f"noise_invariant_loss: {h} noise heads cannot be shared equally among {g} parts")
    w = weight[:, None].expand_as(targets)
    totals = []
    for option in _balanced_assignments(h, g).to(noise_masks):
        pred = (query_masks + torch.einsum("gh,bhft->bgft", option, noise_masks)).clamp(max=1.0)
        bce = F.binary_cross_entropy(pred, targets, w, reduction="none")
        totals.append(bce.flatten(2).mean(dim=2).mean(dim=1))
    return torch.stack(totals).min(dim=0).values


def noise_regulariser(noise_masks: torch.Tensor, threshold: float) -> torch.Tensor:
    """max(0, mean over batch, F and T of sum_h n_h - threshold), CLIPSep's bound on the noise heads' activity.

    One value for the whole batch, as the official code computes it, given to every item so
    that the batch mean is that value.  Shape: noise_masks (batch, H, F, T) -> (batch,).
    """
    excess = F.relu(noise_masks.sum(dim=1).mean() - threshold)
    return excess.expand(noise_masks.shape[0])
