"""Enforce the one-way data flow of DESIGN.md on every module of the package: the forbidden
imports of each area, no cycle between areas, no private name imported across modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "vlkit"

# package area -> areas it must never import
# the run level: run plumbing, task evaluation and the recipes built on both
RUN = {"runs", "evaluation", "recipes"}
FORBIDDEN = {
    "utils": {"config", "configtools", "text", "data", "modules", "models", "losses", "metrics",
              "objectives", "train", "interop", "generation", "cli"} | RUN,
    "data": {"modules", "models", "losses", "objectives", "train", "interop", "cli"} | RUN,
    "modules": {"data", "models", "losses", "metrics", "objectives", "train", "cli"} | RUN,
    "models": {"data", "losses", "metrics", "objectives", "train", "cli"} | RUN,
    "losses": {"data", "modules", "models", "objectives", "train", "cli"} | RUN,
    "metrics": {"modules", "models", "losses", "objectives", "train", "cli"} | RUN,
    "generation": {"data", "losses", "metrics", "objectives", "train", "cli"} | RUN,
    "train": {"data", "modules", "models", "losses", "metrics", "objectives", "cli"} | RUN,
    "objectives": {"train", "cli"} | RUN,
    # run plumbing (context, stores, loaders, options, init): below evaluation and recipes
    "runs": {"evaluation", "recipes", "inference", "serve", "cli"},
    # each task's evaluation and the shared fine-tuning tail: recipes build on it, never it on them
    "evaluation": {"recipes", "inference", "serve", "cli"},
    # only recipes: runs and evaluation below them, prediction and serving beside them
    "recipes": {"inference", "serve", "cli"},
    "interop": {"train", "cli"} | RUN,
    "extract": {"modules", "models", "losses", "metrics", "objectives", "train", "interop",
                "cli"} | RUN,
    "viz": {"train", "cli"} | RUN,
    "inference": {"recipes", "serve", "cli"},
    "serve": {"modules", "models", "losses", "objectives", "train", "recipes", "cli"},
    # the typed model input: below both data (which builds it) and models (which read it)
    "encoder_input": {"config", "configtools", "text", "data", "modules", "models", "losses",
                      "metrics", "objectives", "train", "interop", "generation", "extract",
                      "viz", "inference", "serve", "featurizers", "cli"} | RUN,
    # the synthetic world's fixed pixel backbone, below both data and extract
    "featurizers": {"config", "configtools", "text", "data", "modules", "models", "losses",
                    "metrics", "objectives", "train", "interop", "generation", "extract", "viz",
                    "inference", "serve", "cli"} | RUN,
}
# interop's parity function runs the trainer's optimizer and schedule from its config.
ALLOWED = {("interop", "vlkit.train.optim"), ("interop", "vlkit.train.schedule"),
           ("interop", "vlkit.train.config")}


def _area(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 else rel.stem


def _imports(path: Path) -> list[str]:
    """Every vlkit name `path` imports, at module level or inside functions."""
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


def _area_graph() -> dict[str, dict[str, str]]:
    """area -> {imported area: one "module imports name" line that makes the edge}."""
    graph: dict[str, dict[str, str]] = {}
    for path in MODULES:
        area = _area(path)
        for name in _imports(path):
            parts = name.split(".")
            target = parts[1] if len(parts) > 1 else ""
            if target and target != area:
                graph.setdefault(area, {}).setdefault(
                    target, f"{path.relative_to(PACKAGE)} imports {name}")
    return graph


def find_cycle(graph: dict[str, dict[str, str]]) -> list[str] | None:
    """One cycle [a, b, ..., a] of the directed graph, or None (depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, {})):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


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


def test_find_cycle_names_the_cycle():
    assert find_cycle({"a": {"b": ""}, "b": {"c": ""}, "c": {"a": ""}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b": ""}, "b": {"c": ""}, "d": {"a": ""}}) is None


def test_no_cycle_between_areas():
    graph = _area_graph()
    assert "extract" in graph and "data" in graph  # the graph is built from real imports
    cycle = find_cycle(graph)
    if cycle is not None:
        edges = "; ".join(graph[a][b] for a, b in zip(cycle, cycle[1:], strict=False))
        pytest.fail(f"import cycle between areas {' -> '.join(cycle)}: {edges}")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_private_name_imported_across_modules(path):
    """What two modules share is public: `from vlkit.x import _name` is refused."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("vlkit"):
            private = [a.name for a in node.names
                       if a.name.startswith("_") and not a.name.startswith("__")]
            assert not private, f"{path}: imports private {private} from {node.module}"
