"""The conditional U-Net that predicts one sigmoid ratio mask per query.

Shape of the work (docs/method.md): log1p magnitudes ``(batch, 1, freq, time)`` go down
``depth`` stride-2 levels and back up with skip connections.  The query embedding
conditions the network twice: FiLM (per-channel scale and shift) after the bottleneck and
every decoder level (and the encoder levels too when ``film_encoder`` is set), and
CLIPSep-style late fusion: the decoder emits K maps F_k, the query gives K weights
c = sigmoid(W e), and mask = sigmoid(sum_k s_k c_k F_k + b).  Optional cross-attention at
the bottleneck attends from the audio map to the encoder's token states.

With ``film_encoder`` off the encoder half does not see the query, so it runs once per
segment and is shared by every query (:meth:`ConditionalUNet.encode` /
:meth:`ConditionalUNet.decode`).  The decoder's first convolution over [upsampled, skip]
is split into its two linear halves, and the skip half (a 1x1 projection) is part of the
shared work too; ``decoder_width`` narrows the per-query decoder to a fraction of the
encoder's channels, so that extra queries cost little.

With ``late_fusion`` the query path stops one level short of full resolution: the K maps
F_k come from the finest encoder level (query-independent, once per segment), the query
path ends in K weight maps W_k at half resolution, and
mask = sigmoid(sum_k s_k c_k up(W_k) F_k + b), so no per-query work runs on the full grid.
F_k = A X + b_F is a 1x1 map of the finest encoder features X (C0 channels), so the sum is
computed as sum_c X_c up(V_c) + up(V_b) with V = [A | b_F]^T diag(s c) W at half resolution:
C0 + 1 maps instead of K cross the full grid per query.  The shared maps carry a channel of
ones for the V_b term, so the per-query full-grid work is one upsampling and one weighted sum.
Without it the fused head is folded into one per-query 1x1 kernel (sum_k c_k s_k H_k), the
same function with K times less work at full resolution.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from soundsift.core.config import NetworkConfig


def _groups(channels: int) -> int:
    return next(g for g in (8, 4, 2, 1) if channels % g == 0)


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with GroupNorm and a residual path. Shape: (N, cin, F, T) -> (N, cout, F, T)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1),
            nn.GroupNorm(_groups(cout), cout),
            nn.GELU(),
            nn.Conv2d(cout, cout, 3, padding=1),
            nn.GroupNorm(_groups(cout), cout),
        )
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.body(x) + self.skip(x))


class DecoderBlock(nn.Module):
    """A residual block over [upsampled, skip] whose skip half is precomputed once per segment.

    Shapes: up (N, cout, F, T), shared (N, 2 * cout, F, T) from :meth:`share` -> (N, cout, F, T).
    """

    def __init__(self, cskip: int, cout: int) -> None:
        super().__init__()
        self.skip_proj = nn.Conv2d(cskip, 2 * cout, 1)
        self.conv_up = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.res_up = nn.Conv2d(cout, cout, 1, bias=False)
        self.norm1 = nn.GroupNorm(_groups(cout), cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.norm2 = nn.GroupNorm(_groups(cout), cout)

    def share(self, skip: torch.Tensor) -> torch.Tensor:
        """The query-independent skip contributions to the first convolution and the residual path."""
        return self.skip_proj(skip)

    def forward(self, up: torch.Tensor, shared: torch.Tensor) -> torch.Tensor:
        first, residual = shared.chunk(2, dim=1)
        h = F.gelu(self.norm1(self.conv_up(up) + first))
        h = self.norm2(self.conv2(h))
        return F.gelu(h + self.res_up(up) + residual)


class FiLM(nn.Module):
    """Per-channel scale and shift from the query embedding, starting at identity."""

    def __init__(self, embed_dim: int, channels: int) -> None:
        super().__init__()
        self.proj = nn.Linear(embed_dim, 2 * channels)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        """Shapes: x (N, C, F, T), emb (N, D) -> (N, C, F, T)."""
        gamma, beta = self.proj(emb).chunk(2, dim=-1)
        return x * (1 + gamma[:, :, None, None]) + beta[:, :, None, None]


class CrossAttention(nn.Module):
    """Audio positions attend to the query's token states, with a key padding mask."""

    def __init__(self, channels: int, token_dim: int, heads: int) -> None:
        super().__init__()
        if channels % heads:
            raise ValueError(f"cross-attention: {channels} channels not divisible by {heads} heads")
        self.keys = nn.Linear(token_dim, channels)
        self.attn = nn.MultiheadAttention(channels, heads, batch_first=True)
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor, tokens: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
        """Shapes: x (N, C, F, T), tokens (N, L, token_dim), padding (N, L) bool -> (N, C, F, T)."""
        n, c, f, t = x.shape
        seq = x.flatten(2).transpose(1, 2)
        keys = self.keys(tokens)
        out, _ = self.attn(self.norm(seq), keys, keys, key_padding_mask=padding, need_weights=False)
        return (seq + out).transpose(1, 2).reshape(n, c, f, t)


@dataclass
class Encoded:
    """Query-independent features of a batch of spectrograms."""

    skips: list[torch.Tensor]  # per decoder level, finest first: its precomputed skip contributions
    bottom: torch.Tensor
    size: tuple[int, int]
    maps: torch.Tensor | None = None  # late fusion: [X | 1], the finest encoder features and ones (N, C0+1, F, T)

    def tensors(self) -> tuple[torch.Tensor, ...]:
        """The features as a flat tuple: skips, bottom, then the fusion maps when present."""
        return (*self.skips, self.bottom, *(() if self.maps is None else (self.maps,)))

    def repeat_rows(self, times: int) -> Encoded:
        """Every row repeated ``times`` times in place (row i -> rows i*times .. i*times+times-1)."""
        tiled = [t.repeat_interleave(times, 0) for t in self.tensors()]
        n = len(self.skips)
        return Encoded(tiled[:n], tiled[n], self.size, tiled[n + 1] if self.maps is not None else None)


@dataclass
class Query:
    """A batch of query conditionings: embeddings ``(Q, D)`` and optional token states."""

    embedding: torch.Tensor
    tokens: torch.Tensor | None = None
    padding: torch.Tensor | None = None


class ConditionalUNet(nn.Module):
    """Predicts mask logits ``(batch, queries, freq, time)`` from log magnitudes and queries."""

    def __init__(self, cfg: NetworkConfig, embed_dim: int, token_dim: int) -> None:
        super().__init__()
        self.cfg = cfg
        if not 0.0 < cfg.decoder_width <= 1.0:
            raise ValueError(f"decoder_width must be in (0, 1], got {cfg.decoder_width}")
        if cfg.late_fusion and cfg.depth < 2:
            raise ValueError("late_fusion needs depth >= 2")
        chans = [min(cfg.base_channels * 2**i, cfg.max_channels) for i in range(cfg.depth + 1)]
        dec = [max(_groups(c), round(c * cfg.decoder_width)) for c in chans[:-1]] + [chans[-1]]
        self.first = 1 if cfg.late_fusion else 0  # the finest level the query path reaches
        levels = range(self.first, cfg.depth)
        self.stem = nn.Conv2d(1, chans[0], 3, padding=1)
        self.enc = nn.ModuleList(self._level(chans[i], chans[i], cfg.blocks_per_level) for i in range(cfg.depth))
        self.down = nn.ModuleList(nn.Conv2d(chans[i], chans[i + 1], 4, 2, 1) for i in range(cfg.depth))
        self.mid = ResidualBlock(chans[-1], chans[-1])
        self.up = nn.ModuleList(nn.ConvTranspose2d(dec[i + 1], dec[i], 4, 2, 1) for i in levels)
        self.dec = nn.ModuleList(DecoderBlock(chans[i], dec[i]) for i in levels)
        self.dec_more = nn.ModuleList(self._level(dec[i], dec[i], cfg.blocks_per_level - 1) for i in levels)
        self.film_dec = nn.ModuleList(FiLM(embed_dim, dec[i]) for i in levels)
        self.film_mid = FiLM(embed_dim, chans[-1])
        self.film_enc = (
            nn.ModuleList(FiLM(embed_dim, chans[i]) for i in range(cfg.depth)) if cfg.film_encoder else None
        )
        self.cross = CrossAttention(chans[-1], token_dim, cfg.attention_heads) if cfg.cross_attention else None
        self.head = nn.Conv2d(dec[self.first], cfg.fusion_maps, 1)
        self.shared_maps = nn.Conv2d(chans[0], cfg.fusion_maps, 1) if cfg.late_fusion else None
        self.fusion_weights = nn.Linear(embed_dim, cfg.fusion_maps)
        self.fusion_scale = nn.Parameter(torch.ones(cfg.fusion_maps) / cfg.fusion_maps)
        self.fusion_bias = nn.Parameter(torch.zeros(1))

    @staticmethod
    def _level(cin: int, cout: int, blocks: int) -> nn.Sequential:
        return nn.Sequential(*(ResidualBlock(cin if b == 0 else cout, cout) for b in range(blocks)))

    @property
    def shares_encoder(self) -> bool:
        """True when the encoder half is query-independent and can be shared across queries."""
        return self.film_enc is None

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        unit = 2**self.cfg.depth
        f, t = x.shape[-2:]
        return F.pad(x, (0, (-t) % unit, 0, (-f) % unit))

    def encode(self, spec: torch.Tensor, emb: torch.Tensor | None = None) -> Encoded:
        """Run the encoder half. Shapes: spec (N, 1, F, T), emb (N, D) or None -> Encoded."""
        if (emb is None) != self.shares_encoder:
            raise ValueError("encode() takes an embedding exactly when film_encoder is set")
        size = (spec.shape[-2], spec.shape[-1])
        x = self.stem(self._pad(spec))
        skips, maps = [], None
        for i, (level, down) in enumerate(zip(self.enc, self.down)):
            x = level(x)
            if self.film_enc is not None and emb is not None:
                x = self.film_enc[i](x, emb)
            if i < self.first and self.shared_maps is not None:
                maps = torch.cat([x, x.new_ones(x.shape[0], 1, *x.shape[2:])], 1)
            else:
                skips.append(self.dec[i - self.first].share(x))
            x = down(x)
        return Encoded(skips, self.mid(x), size, maps)

    def decode(self, enc: Encoded, query: Query) -> torch.Tensor:
        """Run the conditioned decoder; batch of enc and query must match. -> logits (N, F, T)."""
        emb = query.embedding
        x = self.film_mid(enc.bottom, emb)
        if self.cross is not None:
            if query.tokens is None or query.padding is None:
                raise ValueError("this separator uses cross-attention and needs token states")
            x = self.cross(x, query.tokens, query.padding)
        for j in reversed(range(len(self.dec))):
            x = self.up[j](x)
            x = self.dec_more[j](self.dec[j](x, enc.skips[j]))
            x = self.film_dec[j](x, emb)
        weights = torch.sigmoid(self.fusion_weights(emb)) * self.fusion_scale
        if enc.maps is None:
            kernel = weights @ self.head.weight.flatten(1)
            logits = torch.einsum("ncft,nc->nft", x, kernel) + (weights @ self.head.bias)[:, None, None]
        else:
            rows = torch.cat([self.shared_maps.weight.flatten(1), self.shared_maps.bias[:, None]], 1)
            kernel = torch.einsum("kc,nk,kd->ncd", rows, weights, self.head.weight.flatten(1))
            offset = torch.einsum("kc,nk,k->nc", rows, weights, self.head.bias)
            n, d, h, w = x.shape
            local = (kernel @ x.reshape(n, d, h * w) + offset[:, :, None]).reshape(n, -1, h, w)
            local = F.interpolate(local, scale_factor=2.0, mode="bilinear", align_corners=False)
            logits = (local * enc.maps).sum(1)
        f, t = enc.size
        return (logits + self.fusion_bias)[:, :f, :t]

    def forward(self, spec: torch.Tensor, query: Query) -> torch.Tensor:
        """Mask logits for every (spectrogram, query) pair.

        The same Q queries for every spectrogram: query.embedding (Q, D); or Q queries of its
        own per spectrogram: query.embedding (B, Q, D) (tokens (B, Q, L, d), padding (B, Q, L)).
        Shapes: spec (B, 1, F, T) -> (B, Q, F, T).
        """
        b = spec.shape[0]
        pairs = _pair_queries(query, b)
        q = pairs.embedding.shape[0] // b
        if self.shares_encoder:
            enc = self.encode(spec).repeat_rows(q)
        else:
            enc = self.encode(spec.repeat_interleave(q, 0), pairs.embedding)
        return self.decode(enc, pairs).reshape(b, q, *enc.size)


def _pair_queries(query: Query, batch: int) -> Query:
    """Flatten queries so that row ``i * Q + j`` is (spectrogram i, query j).

    Shared queries (Q, ...) are tiled over the batch; per-item queries (B, Q, ...) are flattened.
    """
    per_item = query.embedding.dim() == 3
    if per_item and query.embedding.shape[0] != batch:
        raise ValueError(f"per-item queries for {query.embedding.shape[0]} items, but the batch has {batch}")

    def flat(t: torch.Tensor | None) -> torch.Tensor | None:
        if t is None:
            return None
        return t.flatten(0, 1) if per_item else t.repeat(batch, *([1] * (t.dim() - 1)))

    return Query(flat(query.embedding), flat(query.tokens), flat(query.padding))
