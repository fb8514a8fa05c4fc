"""Refuse to write weights that hold NaN or inf: such a file loads fine and predicts garbage."""

from __future__ import annotations

import torch

from vlkit.utils.errors import CheckpointError


def check_finite(tensors: dict[str, torch.Tensor], what: str) -> None:
    """Raise CheckpointError naming `what` and the first tensor with a non-finite value."""
    bad = [name for name, t in tensors.items()
           if t.is_floating_point() and not bool(torch.isfinite(t).all())]
    if bad:
        raise CheckpointError(f"{what}: not written: {len(bad)} tensor(s) hold non-finite "
                              f"values, first {bad[0]!r}")
