"""Kills: a tiny pre-training run SIGKILLed at random steps, again and again, and resumed each
time ends with bit-identical weights and the same metrics.jsonl (every logged value but the
wall-clock ones) as the uninterrupted run. Logging windows span the kills (log every 2 steps,
checkpoint every 3), so a resumed window must average the same steps as the uninterrupted one."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

STEPS = 16
TINY = ["train.val_every=1000", "train.progress=false", "train.precision=fp32",
        "train.log_every=2", "train.ckpt_every=3", f"train.total_steps={STEPS}",
        "model.num_layers=1", "model.hidden_size=32", "model.num_heads=2",
        "model.intermediate_size=64", "train.batch_size=8", "data.val_batches=1",
        "train.num_threads=1"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
WALL_CLOCK = {"time", "samples_per_s"}


def _command(world: Path, run: Path) -> list[str]:
    return [sys.executable, "-m", "vlkit", "train", "uniter-tiny-pretrain",
            f"data.root={world}", f"out={run}", *TINY]


def _logged_step(run: Path) -> int:
    path = run / "metrics.jsonl"
    if not path.exists():
        return 0
    steps = [json.loads(line)["step"] for line in path.read_text().splitlines()
             if line.endswith("}")]
    return max(steps, default=0)


def _kill_at(world: Path, run: Path, step: int) -> None:
    """Start (or resume) the run and SIGKILL it once it has logged `step`."""
    with open(run.parent / f"{run.name}.log", "a") as log:
        proc = subprocess.Popen(_command(world, run), stdout=log, stderr=subprocess.STDOUT,
                                env=ENV)
        deadline = time.monotonic() + 180
        try:
            while _logged_step(run) < step:
                assert proc.poll() is None, f"run ended before step {step}: {log.name}"
                assert time.monotonic() < deadline, f"step {step} not reached within 180 s"
                time.sleep(0.005)
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert not (run / "model").exists(), "the run finished before it could be killed"


def _finish(world: Path, run: Path) -> None:
    done = subprocess.run(_command(world, run), capture_output=True, text=True, env=ENV,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


def _metrics(run: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in row.items() if k not in WALL_CLOCK} for row in rows]


def test_repeated_sigkills_at_random_steps_resume_bit_identically(world, tmp_path):
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    _finish(world, clean)
    kills = sorted(random.Random(15).sample(range(2, STEPS - 1), 3))
    for step in kills:
        _kill_at(world, killed, step)
    _finish(world, killed)

    a = load_file(clean / "model" / "model.safetensors")
    b = load_file(killed / "model" / "model.safetensors")
    differ = [name for name in a if not torch.equal(a[name], b[name])]
    assert a.keys() == b.keys() and not differ, f"{len(differ)} tensors differ, kills {kills}"
    assert _metrics(killed) == _metrics(clean), f"metrics differ after kills at {kills}"
    assert [r["step"] for r in _metrics(clean) if r["kind"] == "train"] == \
        list(range(2, STEPS + 1, 2))
