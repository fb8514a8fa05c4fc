"""`vlkit data synth --out DIR [--images N --seed S --feat-dim D --png K]`: build the
embedded synthetic world (image store + text stores for every task and split).

The layout of DIR is described in docs/synthetic-world.md. The same seed and counts give
byte-identical files.
"""

from __future__ import annotations

import argparse
import sys
import time


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("synth", help="build the seeded synthetic world (images + all tasks)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (must not exist)")
    p.add_argument("--images", type=int, default=5000, metavar="N", help="images (default 5000)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="world seed (default 0)")
    p.add_argument("--feat-dim", type=int, default=256, metavar="D",
                   help="region feature dimension (default 256)")
    p.add_argument("--png", type=int, default=0, metavar="K",
                   help="also save the first K images as PNGs under DIR/pixels (default 0)")
    p.add_argument("--overwrite", action="store_true", help="replace DIR if it exists")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vlkit.utils.output_lock import claim_output

    with claim_output(args.out, "data synth"):  # one writer per output
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from vlkit.data.synthetic.world import build_world
    from vlkit.utils.errors import ConfigError

    for flag, value, low in (("--png", args.png, 0), ("--images", args.images, 1),
                             ("--feat-dim", args.feat_dim, 1)):
        if value < low:
            raise ConfigError(f"{flag} must be >= {low}, got {value}")
    out = Path(args.out)
    if out.exists() and not args.overwrite:
        raise ConfigError(f"--out: {out} already exists; choose another folder or pass "
                          "--overwrite")
    start = time.perf_counter()

    def progress(stage: str, done: int, total: int) -> None:
        unit = "images" if stage == "images" else "tasks"
        sys.stderr.write(f"\rsynth: {stage} {done}/{total} {unit} "
                         f"({time.perf_counter() - start:.1f}s)   ")
        sys.stderr.flush()

    manifest = build_world(out, num_images=args.images, seed=args.seed, feat_dim=args.feat_dim,
                           png=args.png, overwrite=args.overwrite, progress=progress)
    sys.stderr.write("\n")
    counts = ", ".join(f"{task} {sum(c.values())}" for task, c in manifest["counts"].items())
    print(f"wrote {out}: {manifest['num_images']} images, feat_dim {manifest['feat_dim']}; "
          f"text records: {counts} ({time.perf_counter() - start:.1f}s)")
    return 0
