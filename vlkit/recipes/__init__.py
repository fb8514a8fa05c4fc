"""Recipes: each a top-to-bottom `main(cfg) -> dict` that `vlkit train` runs by `cfg.recipe`.

`RECIPES` is the one table of recipe modules; every module is a `Recipe`. A recipe builds its
data and model and hands them to the shared fine-tuning tail
(`vlkit.evaluation.finish.train_and_finish`: train, score the splits, save, write the results).
How a task scores a split lives in `vlkit.evaluation` (its `EVALUATIONS` table), run plumbing in
`vlkit.runs`. A new task plugs in with one line in `RECIPES` (and one in `EVALUATIONS`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Protocol

from vlkit.utils.errors import ConfigError
from vlkit.utils.suggest import did_you_mean

if TYPE_CHECKING:
    from vlkit.config import RunConfig

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


def recipe_module(name: str) -> ModuleType:
    """The module of recipe `name` (a `Recipe`); ConfigError with a suggestion if unknown."""
    if name not in RECIPES:
        raise ConfigError(f"config key 'recipe': unknown recipe '{name}': "
                          f"{did_you_mean(name, RECIPES)}")
    return importlib.import_module(RECIPES[name])


def get_recipe(name: str) -> Callable[[RunConfig], dict]:
    """The `main` of recipe `name`."""
    return recipe_module(name).main
