"""The arguments and the closing line shared by the converters into vlkit folders."""

from __future__ import annotations

import argparse


def add_common_args(p: argparse.ArgumentParser, src_help: str, presets: str) -> None:
    """SRC, DST, --model PRESET and --overwrite, shared by the converters into vlkit folders."""
    p.add_argument("src", help=src_help)
    p.add_argument("dst", help="vlkit checkpoint folder to create")
    p.add_argument("--model", default=None,
                   help=f"model preset to validate against ({presets}); default: sizes "
                        "inferred from tensor shapes")
    p.add_argument("--overwrite", action="store_true", help="replace an existing DST folder")


def written(path: object, num_tensors: int, cfg: object) -> str:
    """One line saying what a converter wrote."""
    return (f"wrote {path}: {num_tensors} tensors, {cfg.num_layers} layers x "
            f"{cfg.hidden_size} ({cfg.num_heads} heads), vocab {cfg.vocab_size}")
