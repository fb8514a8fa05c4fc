"""Recipes: each a top-to-bottom `main(cfg) -> dict` that `vlkit train` runs by `cfg.recipe`.

`RECIPES` is the one table of recipe modules. Every module is a `Recipe`; a recipe whose task
has a split evaluation (`vlkit eval`, and the scores a fine-tuning run ends with) is also a
`TaskRecipe`. A new task plugs in with one line in `RECIPES`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Protocol

from vlkit.utils.errors import ConfigError
from vlkit.utils.suggest import did_you_mean

if TYPE_CHECKING:
    from torch import nn

    from vlkit.config import RunConfig
    from vlkit.recipes.common import RunContext
    from vlkit.recipes.evaluation import TaskEval

RECIPES = {
    "pretrain": "vlkit.recipes.pretrain",
    "vqa": "vlkit.recipes.vqa",
    "itm": "vlkit.recipes.itm",
    "re": "vlkit.recipes.refer",
    "nlvr2": "vlkit.recipes.nlvr2",
    "ve": "vlkit.recipes.ve",
    "vlbert-pretrain": "vlkit.recipes.vlbert_pretrain",
    "caption": "vlkit.recipes.caption",
    "vcr": "vlkit.recipes.vcr",
}


class Recipe(Protocol):
    """A recipe module: `main(cfg)` trains (and evaluates) one run and returns its results."""

    def main(self, cfg: RunConfig) -> dict: ...


class TaskRecipe(Recipe, Protocol):
    """A recipe module whose task scores splits: `task_eval` says how (vlkit.recipes.evaluation).

    It may also define `load_eval_model(cfg, state_dict) -> nn.Module` when a saved model needs
    more than the heads found in its weights (retrieval derives `rank_output` from ITM).
    """

    def task_eval(self, cfg: RunConfig, ctx: RunContext, model: nn.Module) -> TaskEval: ...


def recipe_module(name: str) -> ModuleType:
    """The module of recipe `name` (a `Recipe`); ConfigError with a suggestion if unknown."""
    if name not in RECIPES:
        raise ConfigError(f"config key 'recipe': unknown recipe '{name}': "
                          f"{did_you_mean(name, RECIPES)}")
    return importlib.import_module(RECIPES[name])


def get_recipe(name: str) -> Callable[[RunConfig], dict]:
    """The `main` of recipe `name`."""
    return recipe_module(name).main


def task_recipe(name: str) -> TaskRecipe:
    """The module of recipe `name` when its task has a split evaluation; ConfigError naming
    the recipes that have one otherwise."""
    module = recipe_module(name)
    if not hasattr(module, "task_eval"):
        with_eval = [n for n, m in RECIPES.items()
                     if hasattr(importlib.import_module(m), "task_eval")]
        raise ConfigError(f"config key 'recipe': '{name}' has no evaluation; tasks with one: "
                          f"{', '.join(with_eval)} ({did_you_mean(name, with_eval)})")
    return module
