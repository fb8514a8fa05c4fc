"""`vlkit list models|configs`: what ships with the package."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list model presets or config presets")
    p.add_argument("what", choices=["models", "configs"])
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.what == "models":
        from vlkit.models.presets import MODEL_PRESETS

        rows = {name: spec for name, spec in MODEL_PRESETS.items()}
        if args.json:
            print(json.dumps(rows, indent=2))
        else:
            for name, spec in rows.items():
                dims = (f"{spec['num_layers']} layers x {spec['hidden_size']}, "
                        f"{spec['num_heads']} heads")
                print(f"{name:<22} {spec['arch']:<8} {dims}")
    else:
        from vlkit.config import preset_names, preset_summary, read_preset

        names = preset_names()
        if args.json:
            print(json.dumps(names))
        else:
            for name in names:
                recipe = read_preset(name).get("recipe", "pretrain")
                print(f"{name:<29}{recipe:<16}{preset_summary(name)}")
    return 0
