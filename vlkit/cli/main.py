"""`vlkit` entry point: builds the parser from one module per subcommand.

Each subcommand module defines `register(subparsers)` (adds its parser and sets
`func=run`) and `run(args) -> int`; heavy imports happen inside `run` so that
`vlkit --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from vlkit import __version__
from vlkit.utils.errors import VlkitError

COMMANDS = {
    "data": "vlkit.cli.data",
    "convert": "vlkit.cli.convert",
    "list": "vlkit.cli.list_cmd",
    "score": "vlkit.cli.score",
    "eval": "vlkit.cli.evaluate",
    "predict": "vlkit.cli.predict",
    "train": "vlkit.cli.train",
    "quickstart": "vlkit.cli.quickstart",
    "extract": "vlkit.cli.extract",
    "viz": "vlkit.cli.viz",
    "serve": "vlkit.cli.serve",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vlkit",
        description="Vision-language pre-training and fine-tuning (UNITER, VL-BERT, VLP).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--version", action="version", version=f"vlkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS.values():
        importlib.import_module(module).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except BrokenPipeError:
        _silence_stdout()
        return 141  # what a shell reports for SIGPIPE: `vlkit data inspect ... | head`
    except VlkitError as err:
        print(f"vlkit {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the flush at exit does not fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor
        pass


if __name__ == "__main__":
    raise SystemExit(main())
