"""`vlkit data validate PATH [--img-db PATH ...] [--vocab-size N]`: check every record.

Prints one `record <id>: <field>: <what>` line per problem and exits 1 if there are any;
otherwise prints a one-line OK summary and exits 0.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check every record of a store; exit 1 on problems")
    p.add_argument("path", help="store folder (vlkit native, UNITER txt_db or img_db)")
    p.add_argument("--img-db", action="append", default=[], metavar="PATH",
                   help="image store that text records' image ids must be in (repeatable)")
    p.add_argument("--vocab-size", type=int, default=None, metavar="N",
                   help="token ids must be < N (default: from the store's vocab / meta.json)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vlkit.data.stores.open import open_store, store_kind
    from vlkit.data.stores.validate import validate_store
    from vlkit.utils.errors import ConfigError

    if args.vocab_size is not None and args.vocab_size < 1:
        raise ConfigError(f"--vocab-size must be >= 1, got {args.vocab_size}")
    problems = validate_store(args.path, img_stores=args.img_db, vocab_size=args.vocab_size)
    for problem in problems:
        print(problem)
    if problems:
        records = len({p.record for p in problems})
        print(f"{args.path}: {len(problems)} problem(s) in {records} record(s)")
        return 1
    store = open_store(args.path)
    kind = store_kind(store)
    checked = f", image ids checked in {len(args.img_db)} image store(s)" if args.img_db else ""
    print(f"OK: {args.path}: {len(store)} {kind} records, no problems{checked}")
    return 0
