"""The tail every training recipe shares: train, score, save the model, write the results.

    training = Training(objective, batches, evaluate)
    return train_and_finish(model, cfg, ctx, training, {"num_train_questions": n},
                            task_splits(cfg, ctx, "vqa"))

What a run is scored with at its end is a `FinalScores` (model -> results to add): the task's
split evaluation from the `EVALUATIONS` table (`task_splits`, what `vlkit eval` runs too), one
last validation (`last_validation`, the pre-training recipes), or captioning's own
(`vlkit.evaluation.caption.caption_scores`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from vlkit.config import RunConfig
from vlkit.evaluation import task_evaluation
from vlkit.evaluation.splits import evaluate_splits
from vlkit.models.io import save_model
from vlkit.runs.context import RunContext, write_results
from vlkit.train.trainer import BatchStream, Evaluate, Objective, train

FinalScores = Callable[[nn.Module], dict]


@dataclass
class Training:
    """What `train` runs: the objective, the endless batches and the in-training validation."""

    objective: Objective
    batches: BatchStream
    evaluate: Evaluate | None = None


def task_splits(cfg: RunConfig, ctx: RunContext, task: str) -> FinalScores:
    """Score every configured split of `task` (its entry in `EVALUATIONS`) and write its
    official predictions files: {split: metrics}."""

    def scores(model: nn.Module) -> dict:
        evaluation = task_evaluation(task).task_eval(cfg, ctx, model)
        return evaluate_splits(model, cfg, ctx, evaluation)

    return scores


def last_validation(ctx: RunContext, evaluate: Evaluate | None) -> FinalScores:
    """One last run of the in-training validation on the main process: {"val": metrics}
    ({} without a validation)."""

    def scores(model: nn.Module) -> dict:
        if evaluate is None or not ctx.dist.is_main:
            return {}
        model.eval()
        with torch.no_grad():
            return {"val": evaluate(model)}

    return scores


def finish_run(model: nn.Module, cfg: RunConfig, ctx: RunContext, results: dict,
               final: FinalScores | None = None) -> dict:
    """After training: add the `final` scores to `results`, save the trained model with the
    config it was built with (`model.cfg`: NLVR2 and VCR widen the token types) and write
    final_metrics.json. Returns `results`."""
    if final is not None:
        results.update(final(model))
    if ctx.dist.is_main:
        save_model(model, ctx.run_dir / "model", model.cfg, cfg, overwrite=True)
    write_results(ctx, results)
    return results


def train_and_finish(model: nn.Module, cfg: RunConfig, ctx: RunContext,
                     training: Training | None, info: dict,
                     final: FinalScores | None = None) -> dict:
    """Train `model` (`training`; None: no training, the model is scored as it is, zero-shot),
    then `finish_run`. The results are {"train": the last logged values, **info} plus the
    final scores."""
    last: dict = {}
    if training is not None:
        last = train(model, training.objective, training.batches, cfg.train, ctx.run_dir,
                     ctx.device, ctx.dist, training.evaluate)
    return finish_run(model, cfg, ctx, {"train": last, **info}, final)
