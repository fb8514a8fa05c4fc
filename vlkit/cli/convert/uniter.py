"""`vlkit convert uniter SRC.pt DST [--model uniter-base]` and
`vlkit convert uniter --export SRC_VLKIT_DIR DST.pt` (back to UNITER's names)."""

from __future__ import annotations

import argparse


def register(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser(
        "uniter", help="released UNITER checkpoint (.pt/.safetensors) -> vlkit checkpoint folder",
        description="Convert a released UNITER checkpoint into a vlkit checkpoint folder "
                    "(model.safetensors + config.yaml), or with --export write a vlkit folder "
                    "back as a UNITER-named state dict.")
    p.add_argument("src", help="UNITER .pt/.safetensors file (or, with --export, a vlkit folder)")
    p.add_argument("dst", help="vlkit checkpoint folder to create (or, with --export, a .pt file)")
    p.add_argument("--model", default=None,
                   help="model preset to validate against (e.g. uniter-base, uniter-large); "
                        "default: sizes inferred from tensor shapes")
    p.add_argument("--config", default=None, metavar="JSON",
                   help="the model's JSON config: UNITER's own (e.g. uniter-base.json: "
                        "num_attention_heads, hidden_dropout_prob, ...) or the one --export "
                        "writes; default SRC.json when it exists. Without one the head count "
                        "is assumed hidden_size/64 (with a warning)")
    p.add_argument("--export", action="store_true",
                   help="vlkit folder -> UNITER .pt, plus DST.json: the config in UNITER's "
                        "JSON format with the vlkit run config under 'vlkit'")
    p.add_argument("--overwrite", action="store_true", help="replace an existing DST folder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vlkit.interop.uniter import convert_uniter_checkpoint, export_uniter_checkpoint
    from vlkit.interop.uniter_config import sidecar_path

    if args.export:
        path = export_uniter_checkpoint(args.src, args.dst)
        print(f"wrote UNITER state dict {path} and its config {sidecar_path(path)}")
        return 0
    path, report, cfg = convert_uniter_checkpoint(args.src, args.dst, preset=args.model,
                                                  overwrite=args.overwrite, config=args.config)
    print(f"wrote {path}: {len(report.loaded)} tensors, {cfg.num_layers} layers x "
          f"{cfg.hidden_size} ({cfg.num_heads} heads), vocab {cfg.vocab_size}")
    return 0
