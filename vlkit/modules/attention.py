"""Multi-head self-attention over `scaled_dot_product_attention` with an explicit mask.

Masks
-----
`attention_bias(mask, dtype)` turns a 0/1 (or bool) mask into what attention consumes:
- key padding mask (B, L): 1 = real token, 0 = padding  -> additive bias (B, 1, 1, L)
- full mask (B, Lq, Lk): 1 = query may attend key (e.g. VLP seq2seq) -> bias (B, 1, Lq, Lk)
The bias is `(1 - mask) * -10000`, exactly BERT/UNITER's, so padded keys get zero weight while
a query row with every key masked stays finite (uniform weights) instead of NaN.
`SelfAttention` also accepts an already-built bias: a float tensor (added to the scores) or a
bool tensor (True = attend), broadcastable to (B, heads, Lq, Lk).

On CPU, attention in bf16 (autocast) or with active dropout is written out:
softmax(q k^T / sqrt(d) + bias) with the softmax in fp32 and the probabilities in the input's
dtype, dropped by `vlkit.modules.dropout`. SDPA's CPU kernels compute bf16 in fp32 and draw
dropout per element: the explicit form was 1.4-2.8x faster at UNITER's shapes
(docs/performance.md). fp32 inference and every other device run SDPA.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from vlkit.modules.dropout import Dropout, dropout
from vlkit.modules.packing import TokenPacking

MASKED_BIAS = -10000.0
KeyValue = tuple[torch.Tensor, torch.Tensor]  # cached keys and values, each (B, nh, Lk, hd)


def attention_bias(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """0/1 mask (B, Lk) or (B, Lq, Lk) -> additive bias (B, 1, 1, Lk) or (B, 1, Lq, Lk)."""
    if mask.dim() == 2:
        mask = mask[:, None, None, :]
    elif mask.dim() == 3:
        mask = mask[:, None, :, :]
    else:
        raise ValueError(f"attention mask must be (B, L) or (B, L, L), got {tuple(mask.shape)}")
    return (1.0 - mask.to(dtype)) * MASKED_BIAS


class SelfAttention(nn.Module):
    """Q/K/V projections and SDPA; returns the concatenated heads (B, L, H) before projection."""

    def __init__(self, hidden_size: int, num_heads: int, dropout: float):
        super().__init__()
        if hidden_size % num_heads:
            raise ValueError(f"hidden size {hidden_size} is not a multiple of {num_heads} heads")
        self.num_heads = num_heads
        self.head_dim = hidden_size // num_heads
        self.query = nn.Linear(hidden_size, hidden_size)
        self.key = nn.Linear(hidden_size, hidden_size)
        self.value = nn.Linear(hidden_size, hidden_size)
        self.dropout = dropout

    def _project(self, hidden: torch.Tensor, layers: tuple[nn.Linear, ...],
                 packing: TokenPacking | None = None) -> tuple[torch.Tensor, ...]:
        """`layers`' projections of hidden (..., H), each (..., H), from one matrix product with
        their weights stacked: one pass over the input (and one cast of it under autocast)
        instead of one per layer. With `packing`, hidden is (N, H) and they come back
        unpacked, (B, L, H)."""
        weights = [layer.weight for layer in layers]
        biases = [layer.bias for layer in layers]
        device = hidden.device.type
        if torch.is_autocast_enabled(device):  # stack the low-precision copies, not fp32
            dtype = torch.get_autocast_dtype(device)
            weights, biases = ([t.to(dtype) for t in ts] for ts in (weights, biases))
        out = F.linear(hidden, torch.cat(weights), torch.cat(biases))  # (..., n * H)
        if packing is not None:
            out = packing.unpack(out)
        return out.split(self.query.out_features, dim=-1)

    def _qkv(self, hidden: torch.Tensor, packing: TokenPacking | None = None
             ) -> tuple[torch.Tensor, ...]:
        return self._project(hidden, (self.query, self.key, self.value), packing)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        return x.view(b, n, self.num_heads, self.head_dim).transpose(1, 2)  # (B, nh, L, hd)

    def forward(self, hidden: torch.Tensor, bias: torch.Tensor | None,
                output_attentions: bool = False, packing: TokenPacking | None = None,
                rows: torch.Tensor | None = None
                ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """(B, L, H) -> (B, L, H); with output_attentions also the probabilities
        (B, nh, Lq, Lk), computed by an explicit softmax instead of the fused SDPA kernel.
        With `packing`, hidden holds the real positions only, (N, H) -> (N, H): Q/K/V are
        projected packed and unpacked (zeros at padding) for attention. With `rows` (S,),
        ascending indices into the flattened positions of hidden (B * L, or N packed), only
        those positions query, (S, H) out; every position is still key and value."""
        if rows is not None:
            return self._forward_rows(hidden, bias, packing, rows)
        if packing is None:
            q, k, v = self._qkv(hidden)
            return self._attend(self._heads(q), self._heads(k), self._heads(v), bias,
                                output_attentions)
        q, k, v = self._qkv(hidden, packing)  # each (B, L, H), zeros at padding
        return packing.pack(self._attend(self._heads(q), self._heads(k), self._heads(v), bias))

    def _forward_rows(self, hidden: torch.Tensor, bias: torch.Tensor | None,
                      packing: TokenPacking | None, rows: torch.Tensor) -> torch.Tensor:
        """See `forward`: the queries of `rows` laid out as (B, Q, H), Q the most any sequence
        has (MLM: its masked words), against keys and values at all L positions."""
        if packing is None:
            batch, length = hidden.shape[:2]
            hidden, flat = hidden.reshape(batch * length, -1), rows
        else:
            batch, length, flat = packing.batch, packing.length, packing.index[rows]
        queries, source = query_slots(flat, batch, length)
        q = queries.unpack(self.query(hidden.index_select(0, rows)))  # (B, Q, H)
        k, v = self._project(hidden, (self.key, self.value), packing)
        if packing is None:
            k, v = (t.view(batch, length, -1) for t in (k, v))
        if bias is not None and bias.shape[-2] > 1:  # a mask per query: its rows at `source`
            bias = bias.expand(batch, -1, -1, -1)
            index = source[:, None, :, None].expand(-1, bias.shape[1], -1, bias.shape[3])
            bias = bias.gather(2, index)
        ctx = self._attend(self._heads(q), self._heads(k), self._heads(v), bias)
        return queries.pack(ctx)

    def forward_cached(self, hidden: torch.Tensor, bias: torch.Tensor | None, past: KeyValue,
                       keep: int) -> tuple[torch.Tensor, KeyValue]:
        """Attend from `hidden` (B, n, H) over [past keys/values, its own]; return the context
        (B, n, H) and the past extended by the first `keep` new positions (incremental
        decoding: cached positions are never recomputed)."""
        # separate projections: a few new positions per call, so stacking the weights (a copy
        # of all three per call) would cost more than the one input pass it saves
        q, k, v = (self._heads(proj(hidden)) for proj in (self.query, self.key, self.value))
        k_all, v_all = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        ctx = self._attend(q, k_all, v_all, bias)
        return ctx, (torch.cat([past[0], k[:, :, :keep]], dim=2),
                     torch.cat([past[1], v[:, :, :keep]], dim=2))

    def empty_past(self, batch: int, like: torch.Tensor) -> KeyValue:
        """No cached positions: two (B, nh, 0, hd) tensors of `like`'s dtype and device."""
        empty = like.new_zeros(batch, self.num_heads, 0, self.head_dim)
        return empty, empty

    def _explicit_on_cpu(self, q: torch.Tensor) -> bool:
        """Whether CPU attention beats SDPA written out: with bf16/fp16 inputs (SDPA's CPU
        kernels compute those in fp32) or active dropout (per-element Bernoulli draws)."""
        dropping = self.training and self.dropout > 0
        return q.device.type == "cpu" and (q.dtype != torch.float32 or dropping)

    def _attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                bias: torch.Tensor | None, output_attentions: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        if bias is not None and bias.is_floating_point() and bias.dtype != q.dtype:
            bias = bias.to(q.dtype)
        if output_attentions or self._explicit_on_cpu(q):
            probs = _attention_probs(q, k, bias)  # (B, nh, Lq, Lk)
            ctx = dropout(probs, self.dropout, self.training) @ v  # (B, nh, L, hd)
        else:
            ctx = F.scaled_dot_product_attention(
                q, k, v, attn_mask=bias, dropout_p=self.dropout if self.training else 0.0
            )  # (B, nh, L, hd)
        b, _, n, _ = ctx.shape
        out = ctx.transpose(1, 2).reshape(b, n, self.num_heads * self.head_dim)  # (B, L, H)
        return (out, probs) if output_attentions else out


def query_slots(flat: torch.Tensor, batch: int, length: int
                ) -> tuple[TokenPacking, torch.Tensor]:
    """Ascending flat positions (S,) of a (B, L) layout as a compact (B, Q) query layout, Q =
    the most positions any sequence has: the packing that unpacks (S, *) rows to (B, Q, *),
    and each slot's position in its sequence (B, Q) (0, a real position, at empty slots)."""
    seq = flat.div(length, rounding_mode="floor")
    counts = torch.bincount(seq, minlength=batch)
    width = int(counts.max()) if flat.numel() else 0
    slots = torch.arange(width, device=flat.device).expand(batch, width) < counts[:, None]
    source = flat.new_zeros(batch, width)
    source[slots] = flat - seq * length  # row-major, as the ascending positions come
    return TokenPacking(slots), source


def _attention_probs(q: torch.Tensor, k: torch.Tensor, bias: torch.Tensor | None
                     ) -> torch.Tensor:
    """softmax(q k^T / sqrt(d) + bias): q, k (B, nh, L, hd) -> (B, nh, Lq, Lk). A bool mask
    that hides every key of a query row (padding queries) gives that row zeros, as SDPA does,
    instead of NaN."""
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.size(-1))
    hides = bias is not None and bias.dtype == torch.bool
    if hides:
        scores = scores.masked_fill(~bias, float("-inf"))
    elif bias is not None:
        scores = scores + bias
    probs = scores.softmax(dim=-1, dtype=torch.float32)
    return (probs.nan_to_num(0.0) if hides else probs).to(q.dtype)


class AddNorm(nn.Module):
    """dense -> dropout -> LayerNorm(x + residual): BERT's post-LN sub-layer output."""

    def __init__(self, in_size: int, hidden_size: int, dropout: float, eps: float):
        super().__init__()
        self.dense = nn.Linear(in_size, hidden_size)
        self.LayerNorm = nn.LayerNorm(hidden_size, eps=eps)
        self.dropout = Dropout(dropout)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class Attention(nn.Module):
    """Self-attention block: `self` (Q/K/V) then `output` (projection, residual, LayerNorm)."""

    def __init__(self, hidden_size: int, num_heads: int, attention_dropout: float,
                 hidden_dropout: float, eps: float):
        super().__init__()
        self.self = SelfAttention(hidden_size, num_heads, attention_dropout)
        self.output = AddNorm(hidden_size, hidden_size, hidden_dropout, eps)

    def forward(self, hidden: torch.Tensor, bias: torch.Tensor | None,
                output_attentions: bool = False, packing: TokenPacking | None = None,
                rows: torch.Tensor | None = None
                ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """(B, L, H) -> (B, L, H) [, attention probabilities (B, nh, L, L)]; packed
        (N, H) -> (N, H) with `packing` (see SelfAttention). With `rows` (S,), indices into
        the flattened positions of `hidden` (B * L, or N packed), every position still serves
        as key and value, but only those S rows query and are projected, (S, H) out."""
        if not output_attentions:
            ctx = self.self(hidden, bias, packing=packing, rows=rows)
            if rows is not None:
                hidden = hidden.reshape(-1, hidden.shape[-1]).index_select(0, rows)
            return self.output(ctx, hidden)
        ctx, probs = self.self(hidden, bias, output_attentions=True)
        return self.output(ctx, hidden), probs

    def forward_cached(self, hidden: torch.Tensor, bias: torch.Tensor | None, past: KeyValue,
                       keep: int) -> tuple[torch.Tensor, KeyValue]:
        ctx, past = self.self.forward_cached(hidden, bias, past, keep)
        return self.output(ctx, hidden), past
