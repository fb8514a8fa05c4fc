"""Split evaluation shared by the fine-tuning recipes and `vlkit eval`: one code path per task.

    task = task_evaluation("vqa").task_eval(cfg, ctx, model)   # how VQA scores a split
    results = evaluate_splits(model, cfg, ctx, task)            # {"val": {...}, "test": {...}}

A task's evaluation module (a `TaskEvaluation`, vlkit.evaluation) returns a `TaskEval`: how to
build a split's evaluation data from text store names, how to score it (metrics plus the
predictions), and how to write the predictions in the benchmark's official format to
RUN/predictions/<prefix>_<split>.<suffix>.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vlkit.config import RunConfig
from vlkit.runs.context import RunContext
from vlkit.runs.stores import open_image_stores
from vlkit.train.precision import autocast, resolve_precision
from vlkit.utils.errors import ConfigError

SPLITS = ("val", "test")


@dataclass
class TaskEval:
    """How one task evaluates a split.

    dataset: text store names -> the task's evaluation data for them.
    score: (model, data) -> metrics dict that also holds "predictions" (what `write` takes).
    write: (path, predictions) -> writes the official predictions file.
    every_rank: scoring is collective (every torchrun process calls it; retrieval shards the
        pairs); otherwise only the main process evaluates.
    """

    prefix: str
    suffix: str
    dataset: Callable[[list[str]], Any]
    score: Callable[[nn.Module, Any], dict]
    write: Callable[[Path, Any], None]
    every_rank: bool = False


def split_stores(cfg: RunConfig, split: str) -> list[str]:
    """Text stores of a split name: val -> data.val_txt, test -> data.test_txt."""
    stores = {"val": cfg.data.val_txt, "test": cfg.data.test_txt}
    if split not in stores:
        raise ConfigError(f"unknown split '{split}': expected one of {', '.join(stores)}")
    return list(stores[split] or [])


def eval_image_stores(cfg: RunConfig) -> list:
    """Image stores evaluation reads: data.val_img when set, else data.train_img."""
    return open_image_stores(cfg, cfg.data.val_img or cfg.data.train_img)


def evaluate_splits(model: nn.Module, cfg: RunConfig, ctx: RunContext, task: TaskEval,
                    splits: Sequence[str] = SPLITS) -> dict[str, dict]:
    """Score every configured split of `splits` (those without stores are skipped), write
    each one's predictions file on the main process, and return {split: metrics}. Scoring
    runs under `torch.inference_mode` in the run's precision (`train.precision`; `auto`: bf16
    where the device has it natively)."""
    if not (task.every_rank or ctx.dist.is_main):
        return {}
    model.to(ctx.device)
    precision = resolve_precision(cfg.train.precision, ctx.device)  # bf16 where native, if so run
    was_training = model.training
    model.eval()
    results: dict[str, dict] = {}
    for split in splits:
        names = split_stores(cfg, split)
        if not names:
            continue
        data = task.dataset(names)
        with torch.inference_mode(), autocast(precision, ctx.device):
            scored = task.score(model, data)
        predictions = scored.pop("predictions")
        if ctx.dist.is_main:
            task.write(ctx.run_dir / "predictions" / f"{task.prefix}_{split}.{task.suffix}",
                       predictions)
        results[split] = scored
    model.train(was_training)
    return results
