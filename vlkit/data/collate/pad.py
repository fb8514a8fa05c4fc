"""Padding helpers shared by every collate: per-example rows -> right-padded batch tensors."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def flatten(arrays: Sequence, dtype: torch.dtype) -> torch.Tensor:
    """Concatenate per-example (n_i, ...) arrays/tensors along dim 0 into one tensor."""
    if isinstance(arrays[0], torch.Tensor):
        return torch.cat([a.to(dtype) for a in arrays])
    return torch.from_numpy(np.concatenate(arrays, axis=0)).to(dtype)


def valid_mask(lens: torch.Tensor, width: int) -> torch.Tensor:
    """(B, width) bool, True at j < lens[i]."""
    return torch.arange(width).unsqueeze(0) < lens.unsqueeze(1)


def pad_flat(flat: torch.Tensor, lens: torch.Tensor, fill: float = 0) -> torch.Tensor:
    """Scatter a flat (sum(lens), ...) tensor into a right-padded (B, max(lens), ...) tensor."""
    width = int(lens.max())
    out = flat.new_full((len(lens), width, *flat.shape[1:]), fill)
    out[valid_mask(lens, width)] = flat
    return out


def pad_rows(arrays: Sequence, dtype: torch.dtype, fill: float = 0) -> torch.Tensor:
    """Per-example (n_i, ...) arrays/tensors -> (B, max n_i, ...) of `dtype`, right-padded.

    Numpy rows (e.g. fp16 memory-map views of a store) are first concatenated in their own
    dtype (a plain copy), then cast by torch while copied into place; only padding is filled.
    """
    lens = [len(a) for a in arrays]
    if not isinstance(arrays[0], torch.Tensor):
        flat = torch.from_numpy(np.concatenate(arrays, axis=0))
        starts = np.cumsum([0, *lens[:-1]]).tolist()
        arrays = [flat[s:s + n] for s, n in zip(starts, lens, strict=True)]
    out = torch.empty((len(arrays), max(lens), *arrays[0].shape[1:]), dtype=dtype)
    for i, (arr, n) in enumerate(zip(arrays, lens, strict=True)):
        out[i, :n] = arr
        out[i, n:] = fill
    return out

