"""`train.keep_best` and `train.early_stop_patience`: the best validation so far.

The trainer asks `update(results, step)` after each validation; an improvement writes the
weights to RUN/checkpoints/best_model.pt, and at the end of training the model is put back to
those weights, so the recipe's final evaluation and RUN/model/ are the best validation's. The
tracker's state travels in every training checkpoint, so a resumed run keeps its best so far
(and a run that stopped early stays stopped).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vlkit.train.checkpoint import checkpoint_dir
from vlkit.utils.atomic import atomic_write
from vlkit.utils.errors import ConfigError
from vlkit.utils.suggest import did_you_mean


@dataclass
class BestTracker:
    """Best value of one validation metric: higher is better, except for names ending in
    "loss". `patience` > 0 stops training after that many validations without improvement."""

    metric: str
    patience: int = 0
    value: float | None = None
    step: int = 0
    bad: int = 0  # validations since the last improvement

    @property
    def higher_is_better(self) -> bool:
        return not self.metric.endswith("loss")

    @property
    def should_stop(self) -> bool:
        return self.patience > 0 and self.bad >= self.patience

    def update(self, results: dict[str, Any], step: int) -> bool:
        """Record one validation; True when it is the best so far."""
        if self.metric not in results:
            raise ConfigError(f"config key 'train.keep_best': validation reports no "
                              f"'{self.metric}' ({did_you_mean(self.metric, results)})")
        value = float(results[self.metric])
        better = self.value is None or (value > self.value if self.higher_is_better
                                        else value < self.value)
        if better and not math.isnan(value):
            self.value, self.step, self.bad = value, step, 0
            return True
        self.bad += 1
        return False

    def state_dict(self) -> dict[str, Any]:
        return asdict(self)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("metric") != self.metric:  # another metric now: start over
            return
        self.value, self.step, self.bad = state["value"], int(state["step"]), int(state["bad"])

    def summary(self) -> dict[str, Any]:
        """What final_metrics.json records under train.best."""
        return {"metric": self.metric, "value": self.value, "step": self.step,
                "stopped_early": self.should_stop}


def best_weights_path(run_dir: str | Path) -> Path:
    return checkpoint_dir(run_dir) / "best_model.pt"


def save_best_weights(run_dir: str | Path, model: nn.Module) -> None:
    weights = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    atomic_write(best_weights_path(run_dir), lambda tmp: torch.save(weights, tmp))


def load_best_weights(run_dir: str | Path, model: nn.Module) -> bool:
    """Put the best validation's weights back into `model`; False when none were saved."""
    path = best_weights_path(run_dir)
    if not path.is_file():
        return False
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return True
