"""Run-directory outputs on rank 0: metrics.jsonl and TensorBoard events (plots: plots.py)."""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from typing import Any

from vlkit.utils.atomic import atomic_write_text
from vlkit.utils.errors import DataError

log = logging.getLogger(__name__)


class MetricsWriter:
    """Append one JSON object per logged step/evaluation; mirror scalars to TensorBoard.

    On resume, lines with a step beyond the checkpoint are dropped first so the file
    stays consistent with the weights (a killed run may have logged past its last save).
    """

    def __init__(self, run_dir: str | Path, enabled: bool = True, resume_step: int = 0,
                 tensorboard: bool = True):
        self.run_dir = Path(run_dir)
        self.enabled = enabled
        self.path = self.run_dir / "metrics.jsonl"
        self._tb = None
        if not enabled:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._truncate_after(resume_step)
        self._file = open(self.path, "a", encoding="utf-8")
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(str(self.run_dir / "tensorboard"),
                                         purge_step=resume_step + 1)
            except ImportError:
                log.warning("tensorboard is not installed; writing metrics.jsonl only")

    def _truncate_after(self, step: int) -> None:
        if not self.path.exists():
            return
        lines = [line for line in self.path.read_text(encoding="utf-8").splitlines()
                 if line.strip()]
        kept = []
        for number, line in enumerate(lines, 1):
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                if number == len(lines):  # a line cut short by the kill: drop it
                    break
                raise DataError(f"{self.path}: line {number} is not JSON; fix or remove "
                                "the file to resume") from None
            if row.get("step", 0) <= step:
                kept.append(line)
        atomic_write_text(self.path, "".join(line + "\n" for line in kept))

    def write(self, step: int, values: dict[str, Any], kind: str = "train") -> None:
        if not self.enabled:
            return
        row = {"step": step, "kind": kind, "time": round(time.time(), 3), **values}
        try:
            self._file.write(json.dumps(row) + "\n")
            self._file.flush()
        except OSError as err:  # a full disk: name the file (a bare write error names none)
            raise OSError(err.errno, err.strerror, str(self.path)) from err
        if self._tb is not None:
            for key, value in values.items():
                if isinstance(value, (int, float)) and math.isfinite(value):
                    self._tb.add_scalar(f"{kind}/{key}", value, step)

    def close(self) -> None:
        if not self.enabled:
            return
        self._file.close()
        if self._tb is not None:
            self._tb.close()


def read_metrics(path: str | Path) -> list[dict]:
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
