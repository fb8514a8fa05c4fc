"""`vlkit convert vlp SRC.bin DST`: a released VLP checkpoint -> vlkit checkpoint folder."""

from __future__ import annotations

import argparse


def register(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser(
        "vlp", help="released VLP checkpoint (model.<epoch>.bin) -> vlkit checkpoint folder",
        description="Convert a released Unified VLP checkpoint into a vlkit checkpoint folder "
                    "(model.safetensors + config.yaml); keys without a vlkit counterpart are "
                    "listed. Key map: docs/interop.md.")
    p.add_argument("src", help="VLP state dict file (.bin/.pt/.safetensors)")
    p.add_argument("dst", help="vlkit checkpoint folder to create")
    p.add_argument("--overwrite", action="store_true", help="replace an existing DST folder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vlkit.interop.vlp import convert_vlp_checkpoint

    path, report, unmatched, cfg = convert_vlp_checkpoint(args.src, args.dst, args.overwrite)
    print(f"wrote {path}: {len(report.loaded)} tensors, {cfg.num_layers} layers x "
          f"{cfg.hidden_size}, vocab {cfg.vocab_size}, regions {cfg.img_dim}-d with "
          f"{cfg.img_label_dim} classes")
    print(f"unmatched VLP keys ({len(unmatched)}): {', '.join(unmatched) or 'none'}")
    return 0
