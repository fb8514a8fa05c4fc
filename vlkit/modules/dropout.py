"""Dropout whose CPU mask costs one 64-bit random draw per four elements.

torch's CPU dropout draws a Bernoulli variable per element (`bernoulli_`). Where MKL's
vectorised generator is not used (AMD CPUs, and bf16 tensors) that costs 4-6 ns per element:
a fifth of a bf16 UNITER-base training step (docs/performance.md). Here every element gets 16
random bits, four elements per int64 drawn over the full 64-bit range from torch's own CPU
generator, and is dropped when its bits fall below round(p * 2^16): the drop probability is p
to within 2^-17 (p = 0.1 drops with probability 0.1000061). The mask is kept as bool for the
backward pass (one byte per element instead of one of the input's dtype).

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
    """A bool CPU tensor of `shape`: True (keep) with probability 1 - p, i.i.d."""
    n = math.prod(shape)
    draws = torch.empty((n + 3) // 4, dtype=torch.int64).random_(-2**63, None)
    bits = draws.view(torch.int16)[:n].view(shape)  # uniform over [-2^15, 2^15)
    return bits >= round(p * 2**_BITS) - 2**(_BITS - 1)


class _ApplyMask(torch.autograd.Function):
    """x * keep * scale, saving only the bool mask for the backward pass."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, keep: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.save_for_backward(keep)
        ctx.scale = scale
        return x.mul(keep).mul_(scale)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (keep,) = ctx.saved_tensors
        return grad.mul(keep).mul_(ctx.scale), None, None


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
