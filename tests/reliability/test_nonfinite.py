"""Silent corruption: a non-finite loss or gradient never trains on and is never saved."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from torch import nn

from vlkit.models.config import ModelConfig
from vlkit.models.io import save_model
from vlkit.train.checkpoint import list_checkpoints, load_checkpoint
from vlkit.train.config import TrainConfig
from vlkit.train.trainer import NonFiniteError, train
from vlkit.train.writers import read_metrics
from vlkit.utils.errors import CheckpointError


@dataclass
class _Batch:
    x: torch.Tensor  # (B, 2)
    ids: list[str]
    task: str = "toy"

    @property
    def size(self) -> int:
        return len(self.ids)

    def to(self, device):
        return self


class _Stream:
    """Endless batches; the one at position `poison` holds a NaN (like a store's NaN feature)."""

    def __init__(self, poison: int):
        self.pos, self.poison = 0, poison

    def __iter__(self):
        while True:
            x = torch.full((2, 2), float(self.pos + 1))
            if self.pos == self.poison:
                x[1, 0] = float("nan")
            yield _Batch(x, [f"rec{2 * self.pos}", f"rec{2 * self.pos + 1}"])
            self.pos += 1

    def state_dict(self) -> dict:
        return {"pos": self.pos}

    def load_state_dict(self, state: dict) -> None:
        self.pos = state["pos"]


def _objective(model: nn.Module, batch: _Batch):
    loss = model(batch.x).square().mean()
    return loss, {"loss": loss.detach()}


def _cfg(**kw) -> TrainConfig:
    return TrainConfig(lr=0.01, warmup_steps=0, total_steps=6, log_every=1, ckpt_every=2,
                       progress=False, precision="fp32", **kw)


def test_nan_loss_stops_the_run_naming_step_task_and_records(tmp_path):
    model = nn.Linear(2, 1)
    with pytest.raises(NonFiniteError, match=r"non-finite loss at step 4 \(task toy; "
                                             r"records rec6, rec7\)"):
        train(model, _objective, _Stream(poison=3), _cfg(), tmp_path, torch.device("cpu"))
    assert [step for step, _ in list_checkpoints(tmp_path)] == [2]  # nothing after step 2
    saved = load_checkpoint(list_checkpoints(tmp_path)[0][1])["model"]
    assert all(torch.isfinite(t).all() for t in saved.values())


def test_skip_batch_leaves_the_weights_of_that_step_untouched(tmp_path):
    model = nn.Linear(2, 1)
    cfg = _cfg(on_nonfinite="skip_batch")
    train(model, _objective, _Stream(poison=3), cfg, tmp_path, torch.device("cpu"))
    assert all(torch.isfinite(p).all() for p in model.parameters())
    rows = [r for r in read_metrics(tmp_path / "metrics.jsonl") if r["kind"] == "train"]
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert all(r["loss"] == r["loss"] for r in rows[:3] + rows[4:])  # finite steps log
    assert rows[3]["grad_norm"] != rows[3]["grad_norm"]  # the skipped step logs NaN, not garbage


def test_weights_with_nan_are_never_written(tmp_path):
    model = nn.Linear(2, 1)
    with torch.no_grad():
        model.weight[0, 0] = float("nan")
    with pytest.raises(CheckpointError, match="non-finite values, first 'weight'"):
        save_model(model, tmp_path / "model", ModelConfig())
    assert not (tmp_path / "model").exists()


def test_store_with_nan_features_does_not_train(world, tiny, tmp_path, capsys):
    """The campaign's case: it used to train to completion, exit 0 and save NaN weights."""
    import json
    import shutil

    import numpy as np

    from vlkit.cli.main import main

    root = tmp_path / "world"
    shutil.copytree(world, root)
    index = json.loads((root / "img" / "index.json").read_text())
    start, _ = index["synth-000000"]
    dim = json.loads((root / "img" / "manifest.json").read_text())["arrays"]["feat"]["row_shape"][0]
    feat = np.memmap(root / "img" / "feat.bin", dtype=np.float16, mode="r+")
    feat[start * dim: (start + 1) * dim] = np.nan
    feat.flush()
    del feat
    run = tmp_path / "run"
    code = main(["train", "uniter-tiny-vqa", f"data.root={root}", f"out={run}",
                 "train.total_steps=3", *tiny])
    err = capsys.readouterr().err
    assert code == 2 and "record 'synth-000000': field 'feat' has non-finite values" in err
    assert not (run / "model").exists()


def test_nonfinite_gradient_with_a_finite_loss_stops_the_run(tmp_path):
    def objective(model: nn.Module, batch: _Batch):
        out = model(batch.x.nan_to_num(0.0))
        if batch.x.isnan().any():  # sqrt at 0: the loss is 0, its gradient is not finite
            loss = (out * 0).square().sum().sqrt()
        else:
            loss = out.square().mean()
        return loss, {"loss": loss.detach()}

    with pytest.raises(NonFiniteError, match=r"non-finite gradient \(norm nan\) at step 2 "
                                             r"\(task toy; records rec2, rec3\)"):
        train(nn.Linear(2, 1), objective, _Stream(poison=1), _cfg(), tmp_path,
              torch.device("cpu"))
