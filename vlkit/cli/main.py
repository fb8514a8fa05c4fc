"""`vlkit` entry point: builds the parser from one module per subcommand.

Each subcommand module defines `register(subparsers)` (adds its parser and sets
`func=run`) and `run(args) -> int`; heavy imports happen inside `run` so that
`vlkit --help` stays fast.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import logging
import os
import sys
import traceback

from vlkit import __version__
from vlkit.utils.allocator import keep_freed_memory
from vlkit.utils.errors import VlkitError

# A full disk, a read-only or forbidden folder: the user's to fix, reported without traceback
DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG}

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
    keep_freed_memory()  # every command: training and serving steps reuse their memory
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except BrokenPipeError:
        _silence_stdout()
        return 141  # what a shell reports for SIGPIPE: `vlkit data inspect ... | head`
    except VlkitError as err:
        return _user_error(args, str(err))
    except OSError as err:
        if err.errno not in DISK_ERRNOS:
            raise
        where = f"{err.filename}: " if err.filename else ""
        return _user_error(args, f"{where}{err.strerror or err}")
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


def _user_error(args: argparse.Namespace, message: str) -> int:
    """One line `vlkit CMD: error: ...` and exit status 2; `-v` adds the traceback."""
    if args.verbose:
        traceback.print_exc()
    print(f"vlkit {args.command}: error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
