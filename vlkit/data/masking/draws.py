"""The draws every masker shares: over a flat batch of positions (all examples' tokens or
regions in a row), sums per example and "at least one per example"."""

from __future__ import annotations

import torch

from vlkit.utils.errors import ConfigError


def check_prob(name: str, value: float) -> None:
    if not 0.0 < value <= 1.0:
        raise ConfigError(f"{name} must be in (0, 1], got {value}")


def segments(lens: torch.Tensor) -> torch.Tensor:
    """(sum lens,) example index of every flat position."""
    return torch.repeat_interleave(torch.arange(len(lens)), lens)


def per_example_sum(values: torch.Tensor, seg: torch.Tensor, n: int) -> torch.Tensor:
    return torch.zeros(n, dtype=values.dtype).index_add_(0, seg, values)


def force_one(chosen: torch.Tensor, weight: torch.Tensor, seg: torch.Tensor, n: int,
               gen: torch.Generator) -> torch.Tensor:
    """(S,) bool: one extra position, drawn with probability proportional to `weight`, in
    every example that has a positive weight but nothing chosen (an exponential race)."""
    need = (per_example_sum(chosen.float(), seg, n) == 0) & (
        per_example_sum(weight, seg, n) > 0)
    key = -torch.log(torch.rand(weight.shape, generator=gen)) / weight  # inf where weight 0
    if not need.any():
        return torch.zeros_like(chosen)
    best = torch.full((n,), float("inf")).scatter_reduce(0, seg, key, "amin")
    return (key == best[seg]) & need[seg] & (weight > 0)

