"""Dropout whose CPU mask costs one 64-bit random draw per four elements.

torch's CPU dropout draws a Bernoulli variable per element (`bernoulli_`). Where MKL's
vectorised generator is not used (AMD CPUs, and bf16 tensors) that costs 4-6 ns per element:
a fifth of a bf16 UNITER-base training step (docs/performance.md). Here every element gets 16
random bits, four elements per int64 drawn over the full 64-bit range from torch's own CPU
generator, and is dropped when its bits fall below round(p * 2^16): the drop probability is p
to within 2^-17 (p = 0.1 drops with probability 0.1000061).

The mask is an int16 0/1 tensor, made by clamping the random bits in place; it is cast once
to x's dtype and applied as `addcmul(0, x, mask, value=1 / (1 - p))` (one pass, one rounding),
and again in the backward pass. No bool tensor is involved: ATen's CPU kernels
for bool (comparisons, bool -> float casts, bool-masked multiplies) are scalar loops, 5-10x
slower than the vectorised int16 and bf16 ones, and with a bool mask forward + backward of a
bf16 dropout took twice as long (docs/performance.md).

Masks come from torch's default generator, so `torch.manual_seed`, the checkpointed RNG state
(exact resume) and activation checkpointing's RNG replay cover them as they cover
`F.dropout`. On other devices `F.dropout` (CUDA: fused Philox) runs unchanged.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

_BITS = 16  # random bits per element


def keep_mask(shape: torch.Size | tuple[int, ...], p: float) -> torch.Tensor:
    """An int16 CPU tensor of `shape`: 1 (keep) with probability 1 - p, else 0, i.i.d."""
    cut = round(p * 2**_BITS)  # elements whose 16 bits, read unsigned, fall below are dropped
    if cut in (0, 2**_BITS):  # p within 2^-17 of 0 or 1: keep all / drop all
        return torch.full(shape, int(cut == 0), dtype=torch.int16)
    n = math.prod(shape)
    draws = torch.empty((n + 3) // 4, dtype=torch.int64).random_(-2**63, None)
    bits = draws.view(torch.int16)[:n].view(shape)  # uniform over [-2^15, 2^15)
    threshold = cut - 2**(_BITS - 1)  # keep iff bits >= threshold; both ends fit int16 here
    return bits.clamp_(threshold - 1, threshold).sub_(threshold - 1)


def _masked(x: torch.Tensor, keep: torch.Tensor, scale: float) -> torch.Tensor:
    """x * keep * scale in one pass (keep in x's dtype), rounded once to x's dtype."""
    return torch.addcmul(x.new_zeros(()), x, keep, value=scale)


class _ApplyMask(torch.autograd.Function):
    """x * keep * scale. The backward pass keeps the mask cast to x's dtype where that is no
    wider than int16 (bf16, fp16: no second cast), else the int16 mask (fp32: half the
    memory)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, keep: torch.Tensor, scale: float) -> torch.Tensor:
        cast = keep.to(x.dtype)
        ctx.save_for_backward(cast if x.element_size() <= keep.element_size() else keep)
        ctx.scale = scale
        return _masked(x, cast, scale)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (keep,) = ctx.saved_tensors
        return _masked(grad, keep.to(grad.dtype), ctx.scale), None, None


def dropout(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """Inverted dropout (kept elements scaled by 1 / (1 - p)), as `F.dropout`."""
    if not training or p == 0.0:
        return x
    if x.device.type != "cpu" or p >= 1.0:
        return F.dropout(x, p, training=True)
    return _ApplyMask.apply(x, keep_mask(x.shape, p), 1.0 / (1.0 - p))


class Dropout(nn.Dropout):
    """`nn.Dropout` (same argument checks, repr and state dict: none) over `dropout`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.p, self.training)
