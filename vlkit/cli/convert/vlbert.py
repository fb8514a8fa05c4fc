"""`vlkit convert vlbert SRC DST [--model vlbert-base]`: VL-BERT's released checkpoints
(`vl-bert-{base,large}-{prec,e2e}.model`, or what its fine-tuning scripts save) -> vlkit."""

from __future__ import annotations

import argparse

from vlkit.cli.convert.args import add_common_args, written


def register(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser(
        "vlbert", help="VL-BERT checkpoint (.model/.pth/.safetensors) -> vlkit folder",
        description="Convert a VL-BERT checkpoint ({'state_dict': ..., 'optimizer': ...}, keys "
                    "with or without 'module.') into a vlkit VL-BERT checkpoint folder "
                    "(model.safetensors + config.yaml). See docs/interop.md for the map.")
    add_common_args(p, "VL-BERT checkpoint file", "e.g. vlbert-base, vlbert-large")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vlkit.interop.vlbert_keys import convert_vlbert_checkpoint

    path, report, cfg, left = convert_vlbert_checkpoint(args.src, args.dst, preset=args.model,
                                                        overwrite=args.overwrite)
    print(f"{written(path, len(report.loaded), cfg)}, region features {cfg.img_dim}")
    if left:
        print("left out: " + ", ".join(f"{k} ({n} keys)" if n > 1 else k
                                       for k, n in left.items()))
    return 0
