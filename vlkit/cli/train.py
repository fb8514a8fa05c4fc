"""`vlkit train CONFIG [key=value ...]`: run the recipe the config names.

Also works under torchrun: `torchrun --nproc_per_node N -m vlkit train CONFIG ...`.
Re-running on an existing run directory resumes from its newest checkpoint.
"""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="pre-train or fine-tune from a preset or YAML config")
    p.add_argument("config", help="preset name (see `vlkit list configs`) or YAML path")
    p.add_argument("overrides", nargs="*", help="dotted key=value overrides, e.g. train.lr=5e-5")
    p.add_argument("--dump-config", action="store_true",
                   help="print the fully resolved config as YAML and exit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vlkit.config import config_to_yaml, load_config
    from vlkit.recipes import get_recipe
    from vlkit.train.distributed import shutdown_distributed
    from vlkit.utils.output_lock import claim_output, is_main_process

    cfg = load_config(args.config, args.overrides)
    if args.dump_config:
        print(config_to_yaml(cfg), end="")
        return 0
    with claim_output(cfg.out, "train", enabled=is_main_process()):
        results = get_recipe(cfg.recipe)(cfg)
    shutdown_distributed()  # on error the process exits and torchrun tears the group down
    if results:
        print(json.dumps(results, indent=2))
    return 0
