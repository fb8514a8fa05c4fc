"""`vlkit data VERB ...`: build and check stores. One module per verb (vlkit.cli.data.<verb>)."""

from __future__ import annotations

import argparse
import importlib

VERBS = {
    "synth": "vlkit.cli.data.synth",
    "import": "vlkit.cli.data.import_cmd",
    "inspect": "vlkit.cli.data.inspect",
    "validate": "vlkit.cli.data.validate",
    "export": "vlkit.cli.data.export",
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="build, import, inspect and validate data stores")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    for module in VERBS.values():
        importlib.import_module(module).register(verbs)
