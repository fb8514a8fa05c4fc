"""Training checkpoints: one versioned dict per step, written atomically, for exact resume.

A checkpoint holds model, optimizer, grad scaler, RNG states (python, numpy, torch CPU and
CUDA; under DDP the trainer adds `rng_ranks`, every rank's RNG state, since ranks draw
different amounts) and the data sampler's position. Files are
`RUN/checkpoints/step_00001000.pt`; loading uses `torch.load(weights_only=True)` so nothing
arbitrary is unpickled.
"""

from __future__ import annotations

import logging
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vlkit.utils.atomic import atomic_write
from vlkit.utils.errors import CheckpointError
from vlkit.utils.finite import check_finite

VERSION = 1
log = logging.getLogger(__name__)
_NAME = re.compile(r"^step_(\d+)\.pt$")


def rng_state() -> dict[str, Any]:
    np_state = np.random.get_state()
    state = {
        "python": list(random.getstate()[1]) + [random.getstate()[2] or -1],
        "python_version": random.getstate()[0],
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "gauss": float(np_state[4])},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    py = state["python"]
    random.setstate((state["python_version"], tuple(py[:-1]), None if py[-1] == -1 else py[-1]))
    npst = state["numpy"]
    np.random.set_state(("MT19937", npst["keys"].numpy().astype(np.uint32), npst["pos"],
                         npst["has_gauss"], npst["gauss"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def checkpoint_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / "checkpoints"


def list_checkpoints(run_dir: str | Path) -> list[tuple[int, Path]]:
    folder = checkpoint_dir(run_dir)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.match(p.name))]
    return sorted(found)


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    found = list_checkpoints(run_dir)
    return found[-1][1] if found else None


def save_checkpoint(run_dir: str | Path, step: int, state: dict[str, Any], keep: int = 2) -> Path:
    """Write `state` (+ version, step, RNG) atomically; prune all but the newest `keep`."""
    payload = {"version": VERSION, "step": step, "rng": rng_state(), **state}
    path = checkpoint_dir(run_dir) / f"step_{step:08d}.pt"
    check_finite(state.get("model", {}), str(path))
    atomic_write(path, lambda tmp: _torch_save(payload, tmp, path))
    for _, old in list_checkpoints(run_dir)[:-keep] if keep > 0 else []:
        old.unlink(missing_ok=True)
    return path


def _torch_save(payload: dict[str, Any], tmp: Path, path: Path) -> None:
    """torch.save through a Python file object: given a path, torch's own writer reports a
    full disk as "unexpected pos N vs M"; through a file object the OSError survives (as
    the RuntimeError's context) and is re-raised naming `path` and the OS reason."""
    try:
        with open(tmp, "wb") as handle:
            torch.save(payload, handle)
    except RuntimeError as err:
        cause = err.__context__
        if isinstance(cause, OSError) and cause.errno is not None:
            raise OSError(cause.errno, cause.strerror, str(path)) from err
        raise
    except OSError as err:
        raise OSError(err.errno, err.strerror, str(path)) from err


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by `save_checkpoint` (weights_only: no arbitrary objects)."""
    path = Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file is the same user error
        raise CheckpointError(f"{path}: cannot read checkpoint: {err}") from err
    if payload.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint version {payload.get('version')}, "
                              f"expected {VERSION}")
    return payload
