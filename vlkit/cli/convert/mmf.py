"""`vlkit convert mmf SRC DST [--model uniter-base] [--trunk-only]`: MMF's UNITER/VILLA
checkpoints (e.g. the `uniter.pretrained` / `villa.pretrained` zoo files) -> vlkit folder."""

from __future__ import annotations

import argparse

from vlkit.cli.convert.args import add_common_args, written


def register(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser(
        "mmf", help="MMF UNITER/VILLA checkpoint (.pth/.ckpt/.safetensors) -> vlkit folder",
        description="Convert an MMF UNITER or VILLA checkpoint (MMF's key names: "
                    "uniter.uniter.*, uniter.heads.<task>.*) into a vlkit UNITER checkpoint "
                    "folder (model.safetensors + config.yaml). See docs/interop.md for the map.")
    add_common_args(p, "MMF checkpoint file (bare state dict or {'model': ...})",
                    "e.g. uniter-base")
    p.add_argument("--trunk-only", action="store_true",
                   help="keep the encoder (and the pooler) only, leaving every task head out "
                        "(e.g. an MLM decoder that MMF trained untied from the word embeddings)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vlkit.interop.mmf_keys import convert_mmf_checkpoint
    from vlkit.models.uniter import head_names

    path, report, cfg, dropped = convert_mmf_checkpoint(
        args.src, args.dst, preset=args.model, overwrite=args.overwrite,
        trunk_only=args.trunk_only)
    print(f"{written(path, len(report.loaded), cfg)}, heads {head_names(report.loaded) or 'none'}")
    if dropped:
        print(f"left out {len(dropped)} MMF key(s): " + ", ".join(dropped))
    return 0
