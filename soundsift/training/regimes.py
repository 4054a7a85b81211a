"""Per-batch losses of the training regimes, from waveforms and captions to ``(batch,)`` values.

A batch is a "mixture of mixtures": N parts x_n per item (each a single source or itself a
mixture) with one caption each; the network hears x = sum_n x_n.

- ``mix_separate``: querying x with the caption of x_n must give x_n (L_URL).  With single
  sources and label captions this is supervised mix-and-separate.
- ``weak`` (Mahmud et al. 2024): L_URL plus the clause consistency L_CRL and the bi-modal
  semantic loss L_CNT through the frozen encoder's audio tower, weighted as in the paper.
- ``nit`` (CLIPSep): each caption query's mask plus the noise heads' masks given to its part
  must give the part's binary mask, the heads shared out among the parts the best way
  (noise invariant training), with a bound on the noise heads' activity.
- ``mixit`` (Wisdom et al. 2020): query-free; the network's learned slots separate x and
  the best assignment of slots to parts must remix the parts (negative SNR).  Evaluated
  with oracle slot selection (``evaluate.oracle_slot_estimator``).
- ``semi``: items whose parts are all single sources get the supervised loss, the rest the
  weak loss, combined with lambda_s / lambda_u.

Any regime that queries by caption may add :func:`absent_loss`: items that carry a query for
a class absent from their mixture must give silence for it (``data.absent_fraction``).
"""
from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace

import torch

from soundsift.model.audio_query import unit
from soundsift.model.encoders import QueryEncoder
from soundsift.model.frontend import istft
from soundsift.model.network import SeparatorNetwork
from soundsift.model.unet import Query
from soundsift.training import losses
from soundsift.training.captions import clauses_with_weights


@dataclass
class MixtureBatch:
    """Parts ``(B, N, samples)`` at the model rate, their captions ``[B][N]``, and which are single sources.

    ``references`` ``(B, N, samples)`` with ``use_reference`` ``(B, N)``: where True, part n's
    caption query is replaced by the audio embedding of its reference (another clip of the
    same class, or the part itself; query-by-example training, ``data.audio_query_fraction``
    and ``data.audio_query_source``).
    ``query_noise`` > 0: the parts' query embeddings are moved by random vectors of that norm
    drawn from ``noise_seed`` (:func:`jitter`; ``data.query_noise``).  ``query_blend`` > 0:
    before that, each is mixed with another part's query of the batch (:func:`blend`;
    ``data.query_blend``).
    ``absent`` ``[B]``: per item, the text of a query for a class that is in none of its parts
    (its target is silence, :func:`absent_loss`), or None; None for the whole batch when the
    recipe asks for no absent queries (``data.absent_fraction``).
    """

    parts: torch.Tensor
    captions: list[list[str]]
    single: torch.Tensor
    references: torch.Tensor | None = None
    use_reference: torch.Tensor | None = None
    query_noise: float = 0.0
    noise_seed: int = 0
    query_blend: float = 0.0
    absent: list[str | None] | None = None

    def __post_init__(self) -> None:
        b, n = self.parts.shape[:2]
        if self.absent is not None and len(self.absent) != b:
            raise ValueError(f"MixtureBatch: {len(self.absent)} absent queries for {b} items")
        if len(self.captions) != b or any(len(c) != n for c in self.captions) or self.single.shape != (b, n):
            raise ValueError(f"MixtureBatch: parts {tuple(self.parts.shape)} disagree with captions/single flags")
        if (self.references is None) != (self.use_reference is None) or (
                self.use_reference is not None and self.use_reference.shape != (b, n)):
            raise ValueError("MixtureBatch: references and use_reference go together, one flag per part")

    def select(self, mask: torch.Tensor) -> MixtureBatch:
        """The items where ``mask`` (B,) is True."""
        idx = mask.nonzero().flatten().tolist()
        refs = None if self.references is None else self.references[mask]
        use = None if self.use_reference is None else self.use_reference[mask]
        absent = None if self.absent is None else [self.absent[i] for i in idx]
        return replace(self, parts=self.parts[mask], captions=[self.captions[i] for i in idx], single=self.single[mask],
                       references=refs, use_reference=use, absent=absent)

    def to(self, device: torch.device) -> MixtureBatch:
        """The batch's tensors on ``device``."""
        refs = None if self.references is None else self.references.to(device)
        use = None if self.use_reference is None else self.use_reference.to(device)
        return replace(self, parts=self.parts.to(device), single=self.single.to(device), references=refs,
                       use_reference=use)


LOSS_FORMS = frozenset({"project", "official"})


@dataclass(frozen=True)
class LossWeights:
    """Weights of the loss terms (defaults: the official code's 0.5 L_CNT + 5 (L_CRL + L_URL)).

    ``remix`` > 0 adds a self-training term to the weak loss (not in the paper; :func:`remix_loss`).
    ``semantic_whiten`` > 0 (not in the paper): L_CNT hears each clause separation with its
    long-term spectrum set to its part's, by gains of at most this many dB
    (:func:`losses.match_long_term_spectrum`), so that colouring the part towards a clause's
    timbre no longer satisfies the encoder; 0 (off) = the separations as they are.
    ``absent`` weighs :func:`absent_loss` (not in the paper), on the scale of one part's
    reconstruction term.
    ``form`` = "official" computes the weak loss as the official code of Mahmud et al. does
    (L_CNT per part and summed, L_CRL weighted by each part's magnitude, a random P clauses
    each time; docs/method.md); "project" (default) as soundsift's recipes were measured.
    ``noise_reg`` and ``noise_threshold``: CLIPSep's bound on the noise heads (``nit``).
    """

    semantic: float = 0.5
    consistency: float = 5.0
    reconstruction: float = 5.0
    remix: float = 0.0
    semantic_whiten: float = 0.0
    clauses: int = 2
    lambda_s: float = 1.0
    lambda_u: float = 1.0
    absent: float = 5.0
    noise_reg: float = 0.1
    noise_threshold: float = 0.25
    form: str = "project"

    def __post_init__(self) -> None:
        """Weights must be numbers >= 0 (stored as floats), clauses a whole number >= 1, form a known name."""
        if self.form not in LOSS_FORMS:
            raise ValueError(f"form = {self.form!r}: expected one of {sorted(LOSS_FORMS)}")
        for f in fields(self):
            if f.name == "form":
                continue
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{f.name} = {value!r}: expected a number >= 0")
            if f.name == "clauses":
                if value != int(value) or value < 1:
                    raise ValueError(f"clauses = {value!r}: expected a whole number >= 1")
                object.__setattr__(self, f.name, int(value))
            else:
                object.__setattr__(self, f.name, float(value))


@dataclass
class Spectra:
    """STFT views of a batch: the mixture's complex STFT, its magnitude, weight and part magnitudes."""

    mix: torch.Tensor
    mag: torch.Tensor
    weight: torch.Tensor
    part_mags: torch.Tensor = field(repr=False)


def spectra(network: SeparatorNetwork, batch: MixtureBatch) -> Spectra:
    """STFTs of x = sum_n x_n and of each part, at the network's front end."""
    b, n, length = batch.parts.shape
    mix = network.spectrogram(batch.parts.sum(dim=1))
    parts = network.spectrogram(batch.parts.reshape(b * n, length)).abs()
    mag = mix.abs()
    return Spectra(mix, mag, losses.spectral_weight(mag), parts.reshape(b, n, *parts.shape[-2:]))


def query_for(encoder: QueryEncoder, texts: Sequence[Sequence[str]], device: torch.device) -> Query:
    """Per-item queries ``(B, Q, D)`` (with token states) from the frozen encoder."""
    flat = [t for item in texts for t in item]
    b, q = len(texts), len(texts[0])
    with torch.no_grad():
        emb = encoder.encode_text(flat).to(device)
        tokens, padding = encoder.token_states(flat)
    return Query(emb.reshape(b, q, -1), tokens.to(device).reshape(b, q, *tokens.shape[1:]),
                 padding.to(device).reshape(b, q, -1))


def with_references(query: Query, encoder: QueryEncoder, batch: MixtureBatch, sample_rate: int) -> Query:
    """Replace the first N (caption) queries of flagged parts by their reference clips' audio embeddings.

    Token states of a replaced query become the embedding as one token (as for audio queries
    at inference, :meth:`soundsift.separator.Separator._audio_query`).
    """
    if batch.use_reference is None or not bool(batch.use_reference.any()):
        return query
    n = batch.use_reference.shape[1]
    flags = batch.use_reference.to(query.embedding.device)
    with torch.no_grad():
        refs = batch.references[batch.use_reference]
        audio = encoder.encode_audio(refs.to(query.embedding.device), sample_rate)
        audio = unit(audio)
    embedding = query.embedding.clone()
    head = embedding[:, :n]
    head[flags] = audio.to(embedding.dtype)
    embedding[:, :n] = head
    tokens, padding = query.tokens, query.padding
    if tokens is not None and padding is not None and tokens.shape[-1] == embedding.shape[-1]:
        tokens, padding = tokens.clone(), padding.clone()
        tok_head, pad_head = tokens[:, :n], padding[:, :n]
        tok_head[flags] = 0.0
        tok_head[flags, 0] = audio.to(tokens.dtype)
        pad_head[flags] = True
        pad_head[flags, 0] = False
        tokens[:, :n], padding[:, :n] = tok_head, pad_head
    return Query(embedding, tokens, padding)


def jitter(query: Query, count: int, norm: float, seed: int) -> Query:
    """The first ``count`` query embeddings moved by random vectors of length ``norm`` and renormalised.

    Teaches the separator to answer nearby embeddings alike (a paraphrase lands near, not on,
    its label's caption); token states are left as they are.
    """
    generator = torch.Generator().manual_seed(seed)
    head = query.embedding[:, :count]
    noise = torch.randn(head.shape, generator=generator).to(head)
    noise = norm * unit(noise)
    moved = unit(head) + noise
    embedding = query.embedding.clone()
    embedding[:, :count] = unit(moved)
    return Query(embedding, query.tokens, query.padding)


BLEND_MARGIN = 0.1


def blend(query: Query, count: int, amount: float, seed: int) -> Query:
    """The first ``count`` query embeddings each mixed with a random one of the batch's ``count``-part queries.

    A part's query q becomes normalise((1 - w) q + w d), w uniform in [0, ``amount``], kept
    only where it stays nearer q than every other part's query of its item by
    :data:`BLEND_MARGIN` in cosine.  Teaches the separator to give the source of its mixture
    that a query is nearest to, however far the query is from every training caption (a
    paraphrase between two classes, "fiddle" between violin and viola); token states are
    left as they are.
    """
    generator = torch.Generator().manual_seed(seed)
    head = query.embedding[:, :count]
    head = unit(head)
    b = head.shape[0]
    pick = torch.randint(b * count, (b, count), generator=generator).to(head.device)
    weight = (amount * torch.rand((b, count, 1), generator=generator)).to(head)
    mixed = (1 - weight) * head + weight * head.reshape(b * count, -1)[pick]
    mixed = unit(mixed)
    cosine = mixed @ head.transpose(1, 2)
    own = cosine.diagonal(dim1=1, dim2=2)
    others = cosine.masked_fill(torch.eye(count, dtype=torch.bool, device=head.device), -2.0).amax(dim=-1)
    keep = (own > others + BLEND_MARGIN)[..., None]
    embedding = query.embedding.clone()
    embedding[:, :count] = torch.where(keep, mixed, head)
    return Query(embedding, query.tokens, query.padding)


def separate(network: SeparatorNetwork, encoder: QueryEncoder, spec: Spectra, texts: Sequence[Sequence[str]],
             batch: MixtureBatch | None = None) -> torch.Tensor:
    """Masked magnitudes S(q) = M(x, q) * |X| for per-item texts. -> (B, Q, F, T).

    With ``batch`` (whose captions are the first N texts), flagged parts are queried by their
    reference clips instead (:func:`with_references`), and the N part queries are blended
    and jittered when the batch asks for it (:func:`blend`, :func:`jitter`).
    """
    query = query_for(encoder, texts, spec.mag.device)
    if batch is not None:
        query = with_references(query, encoder, batch, network.config.stft.sample_rate)
        if batch.query_blend > 0:
            query = blend(query, batch.parts.shape[1], batch.query_blend, batch.noise_seed + 1)
        if batch.query_noise > 0:
            query = jitter(query, batch.parts.shape[1], batch.query_noise, batch.noise_seed)
    logits = network.mask_logits(spec.mag, query)
    return torch.sigmoid(logits) * spec.mag[:, None]


def absent_loss(network: SeparatorNetwork, encoder: QueryEncoder, batch: MixtureBatch,
                weights: LossWeights) -> torch.Tensor:
    """Queries for absent classes must give silence: ``absent`` * L1_W(S(x, q_absent), 0), per item.

    The target is silence, so the term is the weighted mean of the output magnitude itself:
    it pushes the mask down wherever the mixture has energy, on the scale of one part's
    reconstruction term.  Items without an absent query add 0.  The query is jittered like
    the parts' queries (``query_noise``), so texts near an absent class stay silent too.
    Shape: -> (B,).
    """
    out = torch.zeros(batch.parts.shape[0], device=batch.parts.device)
    rows = [i for i, text in enumerate(batch.absent or []) if text is not None]
    if not rows:
        return out
    mixture = batch.parts[rows].sum(dim=1)
    mag = network.spectrogram(mixture).abs()
    query = query_for(encoder, [[batch.absent[i]] for i in rows], mag.device)
    if batch.query_noise > 0:
        query = jitter(query, 1, batch.query_noise, batch.noise_seed + 2)
    est = torch.sigmoid(network.mask_logits(mag, query))[:, 0] * mag
    loss = losses.weighted_l1(est, torch.zeros_like(est), losses.spectral_weight(mag))
    return out.index_put((torch.tensor(rows, device=out.device),), weights.absent * loss)


def mix_separate_loss(network: SeparatorNetwork, encoder: QueryEncoder, batch: MixtureBatch,
                      weights: LossWeights) -> torch.Tensor:
    """Mix-and-separate (L_URL; supervised when the parts are single sources)."""
    spec = spectra(network, batch)
    est = separate(network, encoder, spec, batch.captions, batch)
    return weights.reconstruction * losses.reconstruction_loss(est, spec.part_mags, spec.weight)


def resynthesise(network: SeparatorNetwork, spec: Spectra, mags: torch.Tensor, length: int) -> torch.Tensor:
    """Waveforms of estimated magnitudes with the mixture's phase. (B, Q, F, T) -> (B, Q, length)."""
    stft_cfg = network.config.stft
    phase = spec.mix / spec.mag.clamp_min(1e-8)
    waves = istft((mags * phase[:, None]).flatten(0, 1), stft_cfg.n_fft, stft_cfg.hop_length, length)
    return waves.reshape(*mags.shape[:2], length)


def _semantic(network: SeparatorNetwork, encoder: QueryEncoder, spec: Spectra, clause_est: torch.Tensor,
              clauses: list[list[str]], length: int, form: str) -> torch.Tensor:
    """L_CNT per item: clause separations, resynthesised with the mixture phase, vs clause texts.

    "project": mean over the item's clauses, each against every distinct clause text of the
    batch; "official": :func:`losses.part_contrastive_loss`.
    Shapes: clause_est (B, N*P, F, T), clauses [B][N*P] in part order -> (B,)."""
    b, q = clause_est.shape[:2]
    waves = resynthesise(network, spec, clause_est, length).flatten(0, 1)
    audio_emb = encoder.encode_audio(waves, network.config.stft.sample_rate)
    flat = [t for item in clauses for t in item]
    distinct = list(dict.fromkeys(flat))
    with torch.no_grad():
        text_emb = encoder.encode_text(distinct).to(audio_emb.device)
    targets = torch.tensor([distinct.index(t) for t in flat], device=audio_emb.device)
    if form == "official":
        n = spec.part_mags.shape[1]
        shape = (b, n, q // n, -1)
        return losses.part_contrastive_loss(audio_emb.reshape(shape), text_emb[targets].reshape(shape),
                                            encoder.logit_scale)
    return losses.semantic_loss(audio_emb, text_emb, targets, encoder.logit_scale).reshape(b, q).mean(dim=1)


def _heard(spec: Spectra, weights: LossWeights, mags: torch.Tensor) -> torch.Tensor:
    """What L_CNT hears of clause magnitudes (B, N*P, F, T): as they are, or whitened to their parts'."""
    if weights.semantic_whiten <= 0:
        return mags
    part_spectrum = spec.part_mags.mean(dim=-1).repeat_interleave(weights.clauses, dim=1)
    return losses.match_long_term_spectrum(mags, part_spectrum, weights.semantic_whiten)


def weak_loss(network: SeparatorNetwork, encoder: QueryEncoder, batch: MixtureBatch,
              weights: LossWeights) -> torch.Tensor:
    """The paper's weakly-supervised total: semantic + consistency + reconstruction (``weights.form``)."""
    spec = spectra(network, batch)
    b, n = batch.parts.shape[:2]
    official = weights.form == "official"
    # the official code draws clauses afresh each time; from torch's generator, which checkpoints keep
    rng = random.Random(int(torch.randint(2**62, (1,)))) if official else None
    split = [[clauses_with_weights(c, weights.clauses, rng) for c in item] for item in batch.captions]
    clause_texts = [[t for wc in item for t in wc.clauses] for item in split]
    clause_w = torch.tensor([[wc.weights for wc in item] for item in split], device=spec.mag.device)
    texts = [list(caps) + clauses for caps, clauses in zip(batch.captions, clause_texts)]
    est = separate(network, encoder, spec, texts, batch)
    caption_est, clause_est = est[:, :n], est[:, n:]
    url = losses.reconstruction_loss(caption_est, spec.part_mags, spec.weight)
    per_part = clause_est.reshape(b, n, weights.clauses, *est.shape[-2:])
    crl_weight = losses.spectral_weight(spec.part_mags) if official else spec.weight
    crl = losses.consistency_loss(per_part, clause_w, spec.part_mags, crl_weight)
    length = batch.parts.shape[-1]
    cnt = _semantic(network, encoder, spec, _heard(spec, weights, clause_est), clause_texts, length, weights.form)
    total = weights.semantic * cnt + weights.consistency * crl + weights.reconstruction * url
    if weights.remix > 0 and n > 1:
        per_part_texts = [[list(wc.clauses) for wc in item] for item in split]
        total = total + weights.remix * remix_loss(network, encoder, per_part, per_part_texts)
    return total


def remix_loss(network: SeparatorNetwork, encoder: QueryEncoder, clause_est: torch.Tensor,
               clause_texts: list[list[list[str]]]) -> torch.Tensor:
    """Self-training on remixed clause separations: S(s_0k + s_1k, t_0k) must give s_0k back, and likewise s_1k.

    Item i remixes its clause k = i mod P of parts 0 and 1 (one pair per item keeps the cost
    at one more separator pass): the separations s_nk, detached as fixed targets, are added
    (same phase, so magnitudes add) and separated again by their clause texts.  The targets
    pass all of each separation, which L_CRL alone never asks of a clause: it is met by any
    split of a part among its clauses, and the masks learn to hedge.  Empty separations
    meet this term trivially; L_CRL keeps them whole.
    Shapes: clause_est (B, N, P, F, T), clause_texts [B][N][P] -> (B,).
    """
    b, _, p = clause_est.shape[:3]
    rows = torch.arange(b, device=clause_est.device)
    targets = clause_est[rows, :2, rows % p].detach()
    remix = targets.sum(dim=1)
    texts = [[item[0][i % p], item[1][i % p]] for i, item in enumerate(clause_texts)]
    est = torch.sigmoid(network.mask_logits(remix, query_for(encoder, texts, remix.device))) * remix[:, None]
    return losses.reconstruction_loss(est, targets, losses.spectral_weight(remix))


def semi_loss(network: SeparatorNetwork, encoder: QueryEncoder, batch: MixtureBatch,
              weights: LossWeights) -> torch.Tensor:
    """Supervised loss on all-single-source items, weak loss on the others, per item.

    Each group's items are scaled by batch size / group size, so that the batch mean is
    lambda_s * mean(L_sup) + lambda_u * mean(L_weak): each term a mean over its own items,
    as in L = lambda_s L_sup + lambda_u L_weak, whatever share of the batch each group has.
    """
    supervised = batch.single.all(dim=1)
    size = batch.parts.shape[0]
    out = torch.zeros(size, device=batch.parts.device)
    for mask, fn, scale in ((supervised, mix_separate_loss, weights.lambda_s), (~supervised, weak_loss, weights.lambda_u)):
        if mask.any():
            sub = batch.select(mask)
            share = size / int(mask.sum())
            out = out.index_put((mask.nonzero().flatten(),), scale * share * fn(network, encoder, sub, weights))
    return out


def noise_queries(network: SeparatorNetwork, query: Query) -> Query:
    """CLIPSep's noise heads for each item, conditioned on the mean q̄ of the item's queries.

    Head h asks for normalise(l_h ⊙ q̄), l_h the network's h-th learned query vector: a learned
    diagonal map of q̄ per head, where CLIPSep gives each head a learned linear layer on q̄.
    Shapes: query (B, Q, D) -> (B, H, D), one token each.
    """
    if network.learned is None:
        raise ValueError("this network has no learned queries (set network.learned_queries)")
    embedding = unit(network.learned[None] * query.embedding.mean(dim=1, keepdim=True))
    if network.learned_tokens is None:
        return Query(embedding)
    padding = torch.zeros(*embedding.shape[:2], 1, dtype=torch.bool, device=embedding.device)
    return Query(embedding, network.learned_tokens(embedding)[:, :, None], padding)


def noise_invariant_regime_loss(network: SeparatorNetwork, encoder: QueryEncoder, batch: MixtureBatch,
                                weights: LossWeights) -> torch.Tensor:
    """CLIPSep-NIT: caption query masks plus noise head masks, shared out among the parts, vs binary targets.

    :func:`losses.noise_invariant_loss` plus ``noise_reg`` times :func:`losses.noise_regulariser`.
    """
    spec = spectra(network, batch)
    query = query_for(encoder, batch.captions, spec.mag.device)
    masks = torch.sigmoid(network.mask_logits(spec.mag, query))
    noise = torch.sigmoid(network.mask_logits(spec.mag, noise_queries(network, query)))
    targets = losses.binary_target(spec.part_mags, spec.mag)
    nit = losses.noise_invariant_loss(masks, noise, targets, spec.weight)
    return nit + weights.noise_reg * losses.noise_regulariser(noise, weights.noise_threshold)


def mixit_regime_loss(network: SeparatorNetwork, encoder: QueryEncoder, batch: MixtureBatch,
                      weights: LossWeights) -> torch.Tensor:
    """MixIT (query-free): the learned slots' outputs are assigned to the parts they best remix."""
    spec = spectra(network, batch)
    slots = torch.sigmoid(network.mask_logits(spec.mag, network.learned_query())) * spec.mag[:, None]
    return losses.mixit_loss(resynthesise(network, spec, slots, batch.parts.shape[-1]), batch.parts)


RegimeLoss = Callable[[SeparatorNetwork, QueryEncoder, MixtureBatch, LossWeights], torch.Tensor]
REGIMES: dict[str, RegimeLoss] = {
    "supervised": mix_separate_loss,
    "mix_separate": mix_separate_loss,
    "weak": weak_loss,
    "semi": semi_loss,
    "nit": noise_invariant_regime_loss,
    "mixit": mixit_regime_loss,
}
