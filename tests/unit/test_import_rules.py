"""Enforce the one-way data flow of DESIGN.md on every module of the package."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "vlkit"

# package area -> areas it must never import
FORBIDDEN = {
    "utils": {"config", "configtools", "text", "data", "modules", "models", "losses", "metrics",
              "objectives", "train", "recipes", "interop", "generation", "cli"},
    "data": {"modules", "models", "losses", "objectives", "train", "recipes", "interop", "cli"},
    "modules": {"data", "models", "losses", "metrics", "objectives", "train", "recipes", "cli"},
    "models": {"data", "losses", "metrics", "objectives", "train", "recipes", "cli"},
    "losses": {"data", "modules", "models", "objectives", "train", "recipes", "cli"},
    "metrics": {"modules", "models", "losses", "objectives", "train", "recipes", "cli"},
    "generation": {"data", "losses", "metrics", "objectives", "train", "recipes", "cli"},
    "train": {"data", "modules", "models", "losses", "metrics", "objectives", "recipes", "cli"},
    "objectives": {"train", "recipes", "cli"},
    "recipes": {"cli"},
    "interop": {"train", "recipes", "cli"},
    "extract": {"modules", "models", "losses", "metrics", "objectives", "train", "recipes",
                "interop", "cli"},
    "viz": {"train", "recipes", "cli"},
    "inference": {"cli"},
    "serve": {"modules", "models", "losses", "objectives", "train", "cli"},
}
# interop's parity function runs the trainer's optimizer and schedule from its config.
ALLOWED = {("interop", "vlkit.train.optim"), ("interop", "vlkit.train.schedule"),
           ("interop", "vlkit.train.config")}


def _area(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 else rel.stem


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            found += [f"{node.module}.{a.name}" for a in node.names]
    return [name for name in found if name == "vlkit" or name.startswith("vlkit.")]


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_package_has_modules():
    assert len(MODULES) > 10


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_import_rules(path):
    area = _area(path)
    for name in _imports(path):
        parts = name.split(".")
        target = parts[1] if len(parts) > 1 else ""
        if target == "cli":
            assert area in ("cli", "__main__"), f"{path}: nothing may import vlkit.cli ({name})"
        if (area, ".".join(parts[:3])) in ALLOWED:
            continue
        assert target not in FORBIDDEN.get(area, set()), f"{path}: {area} must not import {name}"
