"""`vlkit convert FORMAT ...`: released checkpoints <-> vlkit checkpoint folders.

One module per source format (vlkit.cli.convert.<format>), each with `register(verbs)` and
`run(args)`; add a converter by adding one line to VERBS. `args` holds what the converters share.
"""

from __future__ import annotations

import argparse
import importlib

VERBS = {
    "uniter": "vlkit.cli.convert.uniter",
    "mmf": "vlkit.cli.convert.mmf",
    "vlbert": "vlkit.cli.convert.vlbert",
    "vlp": "vlkit.cli.convert.vlp",
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert", help="convert released checkpoints to vlkit checkpoints")
    verbs = p.add_subparsers(dest="format", metavar="FORMAT", required=True)
    for module in VERBS.values():
        importlib.import_module(module).register(verbs)
