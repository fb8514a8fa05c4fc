"""What every run does first and last: device, process group, seeds, run directory with its
config.yaml, and final_metrics.json."""

from __future__ import annotations

import logging
import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import yaml

from vlkit.config import RunConfig, config_to_yaml
from vlkit.runs.text_vocab import adopt_store_vocab
from vlkit.train.distributed import DistInfo, init_distributed
from vlkit.train.precision import pick_device
from vlkit.utils.atomic import atomic_write_json, atomic_write_text

log = logging.getLogger(__name__)


@dataclass
class RunContext:
    """Where a run writes, the device it computes on and its place among torchrun processes."""

    run_dir: Path
    device: torch.device
    dist: DistInfo


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch so a run repeats."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def setup_run(cfg: RunConfig) -> RunContext:
    """Threads, device, process group, seeds, the vocabulary a UNITER txt_db fixes
    (text_vocab.adopt_store_vocab), and the run directory with config.yaml."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    threads = cfg.train.num_threads or (1 if world > 1 else 0)
    if threads:
        torch.set_num_threads(threads)
    device = pick_device(cfg.train.device, int(os.environ.get("LOCAL_RANK", "0")))
    dist = init_distributed(device)
    seed_everything(cfg.train.seed)
    adopt_store_vocab(cfg)
    run_dir = Path(cfg.out)
    if dist.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        _write_config(run_dir, cfg)
    return RunContext(run_dir, device, dist)


def _write_config(run_dir: Path, cfg: RunConfig) -> None:
    path = run_dir / "config.yaml"
    text = config_to_yaml(cfg)
    if path.exists() and path.read_text() != text and any((run_dir / "checkpoints").glob("*.pt")):
        changes = config_changes(yaml.safe_load(path.read_text()) or {}, yaml.safe_load(text))
        log.warning("resuming %s with a different config (old -> new): %s", run_dir,
                    "; ".join(changes) or "formatting only")
    atomic_write_text(path, text)


def config_changes(old: dict, new: dict, prefix: str = "") -> list[str]:
    """'key: old -> new' for every dotted key whose value differs between two configs."""
    out = []
    for key in sorted(set(old) | set(new), key=str):
        name = f"{prefix}{key}"
        a, b = old.get(key, "<unset>"), new.get(key, "<unset>")
        if isinstance(a, dict) and isinstance(b, dict):
            out += config_changes(a, b, f"{name}.")
        elif a != b:
            out.append(f"{name}: {a if a != '' else repr(a)} -> {b if b != '' else repr(b)}")
    return out


def write_results(ctx: RunContext, results: dict) -> None:
    """final_metrics.json of the run (main process only)."""
    if ctx.dist.is_main:
        atomic_write_json(ctx.run_dir / "final_metrics.json", results)
