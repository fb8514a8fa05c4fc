"""Validation of the pre-training recipes: the objective's logged values (losses, accuracies)
averaged over the first `data.val_batches` batches of each task's validation loader, the same
batches (order and masks) at every validation."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import torch

from vlkit.config import RunConfig


def mean_logs_evaluator(cfg: RunConfig, loaders: dict, objective: Callable,
                        device: torch.device) -> Callable[[torch.nn.Module], dict[str, float]]:
    """evaluate(model) -> each logged value averaged over the first `data.val_batches` batches
    of every loader, rewound to the start each time."""

    def evaluate(model: torch.nn.Module) -> dict[str, float]:
        sums: dict[str, list[float]] = {}
        for loader in loaders.values():
            loader.load_state_dict({"epoch": 0, "position": 0, "seed": cfg.train.seed})
            for batch in itertools.islice(iter(loader), cfg.data.val_batches):
                _, logs = objective(model, batch.to(device))
                for key, value in logs.items():
                    sums.setdefault(key, []).append(float(value))
        return {key: sum(v) / len(v) for key, v in sums.items()}

    return evaluate
