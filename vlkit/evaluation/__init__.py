"""Evaluation: how each task scores a split, shared by `vlkit eval`, the end of a fine-tuning
run and prediction.

    task = task_evaluation("vqa").task_eval(cfg, ctx, model)   # how VQA scores a split
    results = evaluate_splits(model, cfg, ctx, task)            # {"val": {...}, "test": {...}}

`EVALUATIONS` is the one table of task evaluations (recipe name -> module): `vlkit eval`
(`eval_run`) and the recipes' fine-tuning tail (`finish.train_and_finish`) both look a task up
here. Every module in it is a `TaskEvaluation`. Captioning scores its splits its own way (greedy
and beam captions, `caption.caption_scores`) and is not in the table, so `vlkit eval` names the
tasks it can evaluate instead. This package never imports the recipes: they import it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Protocol

from vlkit.utils.errors import ConfigError
from vlkit.utils.suggest import did_you_mean

if TYPE_CHECKING:
    from torch import nn

    from vlkit.config import RunConfig
    from vlkit.evaluation.splits import TaskEval
    from vlkit.runs.context import RunContext

EVALUATIONS = {
    "vqa": "vlkit.evaluation.vqa",
    "itm": "vlkit.evaluation.itm",
    "re": "vlkit.evaluation.refer",
    "nlvr2": "vlkit.evaluation.nlvr2",
    "ve": "vlkit.evaluation.ve",
    "vcr": "vlkit.evaluation.vcr",
}


class TaskEvaluation(Protocol):
    """A task's evaluation module: `task_eval` says how it scores a split (`TaskEval`: its
    data, its metrics and predictions, its official predictions file).

    It may also define `load_eval_model(cfg, state_dict) -> nn.Module` when a saved model needs
    more than the heads found in its weights (retrieval derives `rank_output` from ITM).
    """

    def task_eval(self, cfg: RunConfig, ctx: RunContext, model: nn.Module) -> TaskEval: ...


def task_evaluation(name: str) -> TaskEvaluation:
    """The evaluation module of task (recipe) `name`; ConfigError naming the tasks that have
    one otherwise."""
    if name not in EVALUATIONS:
        raise ConfigError(f"config key 'recipe': '{name}' has no evaluation; tasks with one: "
                          f"{', '.join(EVALUATIONS)} ({did_you_mean(name, EVALUATIONS)})")
    return importlib.import_module(EVALUATIONS[name])
