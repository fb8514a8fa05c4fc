"""A crafted checkpoint runs no code: loading uses `torch.load(weights_only=True)`, and the
refusal is a CheckpointError naming the file (a resumed `vlkit train` exits 2 with it)."""

from __future__ import annotations

import pytest
import torch

from vlkit.train.checkpoint import load_checkpoint
from vlkit.utils.errors import CheckpointError


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))  # would create the marker file if unpickled


def test_pickle_payload_in_a_checkpoint_does_not_run(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "checkpoints" / "step_00000001.pt"
    path.parent.mkdir()
    torch.save({"version": 1, "step": 1, "model": _Payload(marker)}, path)
    with pytest.raises(CheckpointError, match=f"{path}: cannot read checkpoint"):
        load_checkpoint(path)
    assert not marker.exists()
