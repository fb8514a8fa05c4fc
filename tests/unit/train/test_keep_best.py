"""train.keep_best / train.early_stop_patience on a toy model with scripted validations:
the model ends with the best validation's weights, stops after `patience` validations
without improvement, and a resumed run keeps the best so far."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from vlkit.train.config import TrainConfig
from vlkit.train.trainer import train
from vlkit.utils.errors import ConfigError


class _Batch:
    size = 2

    def __init__(self, x: torch.Tensor):
        self.x = x

    def to(self, device: torch.device) -> _Batch:
        return self


class _Stream:
    """Endless batches with a resumable position."""

    def __init__(self) -> None:
        self.pos = 0

    def __iter__(self):
        while True:
            self.pos += 1
            yield _Batch(torch.full((2, 3), float(self.pos)))

    def state_dict(self) -> dict:
        return {"pos": self.pos}

    def load_state_dict(self, state: dict) -> None:
        self.pos = state["pos"]


def _objective(model: nn.Module, batch: _Batch) -> tuple[torch.Tensor, dict]:
    loss = model(batch.x).pow(2).mean()
    return loss, {"loss": loss.detach()}


def _run(run_dir: Path, scores: list[float], total: int, metric: str = "acc",
         **train_cfg) -> tuple[dict, dict, nn.Module]:
    """Train a linear model; this call's validation i reports `metric` = scores[i]; returns
    (train result, {i: weights at validation i}, model)."""
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    seen: dict[int, torch.Tensor] = {}

    def evaluate(m: nn.Module) -> dict[str, float]:
        i = len(seen)
        seen[i] = m.weight.detach().clone()
        return {metric: scores[i]}

    cfg = TrainConfig(lr=0.1, warmup_steps=0, schedule="constant", total_steps=total,
                      batch_size=2, log_every=1, val_every=1, ckpt_every=1,
                      keep_checkpoints=1, precision="fp32", device="cpu", progress=False,
                      **train_cfg)
    result = train(model, _objective, _Stream(), cfg, run_dir, torch.device("cpu"),
                   evaluate=evaluate)
    return result, seen, model


def test_keep_best_ends_with_the_best_weights_and_early_stop_stops(tmp_path: Path) -> None:
    result, seen, model = _run(tmp_path, [0.1, 0.5, 0.3, 0.2, 0.9, 0.9], total=6,
                               keep_best="acc", early_stop_patience=2)
    assert len(seen) == 4  # steps 1..4: two validations after the best one, then stop
    assert result["best"] == {"metric": "acc", "value": 0.5, "step": 2, "stopped_early": True}
    assert torch.equal(model.weight, seen[1])  # the weights validated at step 2
    assert not torch.equal(seen[1], seen[3])
    # A re-run of the stopped run stays stopped and keeps the same best.
    again, seen_again, model_again = _run(tmp_path, [1.0], total=6, keep_best="acc",
                                          early_stop_patience=2)
    assert not seen_again and again["best"]["step"] == 2
    assert torch.equal(model_again.weight, seen[1])


def test_resume_keeps_the_best_so_far(tmp_path: Path) -> None:
    first, seen, _ = _run(tmp_path, [0.1, 0.5, 0.3], total=3, keep_best="acc")
    assert first["best"]["step"] == 2
    # Resumed to 5 steps: steps 4 and 5 validate lower than step 2's 0.5.
    second, _, model = _run(tmp_path, [0.4, 0.45], total=5, keep_best="acc")
    assert second["best"] == {"metric": "acc", "value": 0.5, "step": 2, "stopped_early": False}
    assert torch.equal(model.weight, seen[1])


def test_a_loss_metric_is_minimised_and_bad_settings_are_refused(tmp_path: Path) -> None:
    result, seen, model = _run(tmp_path / "a", [0.9, 0.2, 0.7], total=3, metric="val_loss",
                               keep_best="val_loss")
    assert result["best"]["step"] == 2 and torch.equal(model.weight, seen[1])
    with pytest.raises(ConfigError, match="early_stop_patience' needs train.keep_best"):
        _run(tmp_path / "b", [0.1], total=1, early_stop_patience=2)
    with pytest.raises(ConfigError, match="reports no 'ac'.*did you mean 'acc'"):
        _run(tmp_path / "c", [0.1], total=1, keep_best="ac")
