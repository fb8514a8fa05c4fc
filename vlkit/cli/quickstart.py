"""`vlkit quickstart [--out DIR]`: synthetic world -> pre-train -> fine-tune VQA -> compare.

Defaults live in `vlkit.cli.quickstart_job.QuickstartPlan`; flags left out keep them.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("quickstart", help="pre-train and fine-tune on the embedded synthetic "
                       "world and show what pre-training buys (CPU, minutes)")
    p.add_argument("--out", help="output folder (default runs/quickstart)")
    p.add_argument("--images", type=int, help="synthetic images (default 3000)")
    p.add_argument("--seed", type=int, help="seed of the world and of every run (default 0)")
    p.add_argument("--pretrain-steps", type=int, help="pre-training steps (default 3000)")
    p.add_argument("--finetune-steps", type=int, help="VQA fine-tuning steps (default 1500)")
    p.add_argument("--vqa-questions", type=int,
                   help="labelled VQA questions used for fine-tuning (default 6000)")
    p.add_argument("overrides", nargs="*",
                   help="key=value overrides applied to every phase, e.g. train.device=cuda")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vlkit.cli.quickstart_job import QuickstartPlan, run_quickstart
    from vlkit.utils.output_lock import claim_output

    given = {k: v for k, v in vars(args).items()
             if k in QuickstartPlan.__dataclass_fields__ and v is not None}
    plan = QuickstartPlan(**given)
    with claim_output(plan.out, "quickstart"):  # one quickstart per output folder
        run_quickstart(plan)
    return 0
