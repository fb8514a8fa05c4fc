"""`vlkit eval RUN_DIR|CHECKPOINT [key=value ...]`: metrics and official prediction files.

Also works under torchrun (retrieval scoring is sharded over the processes).
"""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval", help="evaluate a run or saved model on its task's val/test splits",
        description="Evaluate a fine-tuned run directory, saved model folder or training "
                    "checkpoint with the config it was trained with (plus overrides); writes "
                    "OUT/metrics.json and OUT/predictions/<task>_<split>.* in the official "
                    "formats (OUT: out=DIR, default RUN/eval).")
    p.add_argument("source", metavar="RUN_DIR|CHECKPOINT",
                   help="run directory, model folder (model.safetensors + config.yaml) or "
                        "RUN/checkpoints/step_*.pt")
    p.add_argument("overrides", nargs="*",
                   help="dotted key=value overrides, e.g. data.test_txt=[txt/vqa_test] out=DIR")
    p.add_argument("--splits", default="val,test",
                   help="comma-separated splits to evaluate (default: val,test; a split "
                        "without text stores in the config is skipped; give it before the "
                        "source or after the overrides)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vlkit.evaluation.eval_run import run_eval
    from vlkit.train.distributed import shutdown_distributed

    splits = tuple(s.strip() for s in args.splits.split(",") if s.strip())
    results = run_eval(args.source, args.overrides, splits)
    shutdown_distributed()
    if results:
        print(json.dumps(results, indent=2))
    return 0
