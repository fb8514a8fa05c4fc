"""`task.*` config keys: each recipe declares its options as a dataclass and reads them here.

    @dataclass
    class ItmOptions:
        neg_size: int = 1
    opts = task_options(cfg, ItmOptions)       # cfg.task = {"neg_size": "3"} -> neg_size=3

Values given on the command line arrive as strings; they are coerced to the field's type,
and an unknown key fails with a "did you mean" hint naming `task.<key>`.
"""

from __future__ import annotations

from typing import TypeVar

from vlkit.config import RunConfig
from vlkit.configtools import from_dict

T = TypeVar("T")


def task_options(cfg: RunConfig, cls: type[T]) -> T:
    """The recipe's typed options from `cfg.task` (defaults for keys not given)."""
    return from_dict(cls, dict(cfg.task), prefix="task")
