"""DDP through torchrun on CPU (gloo): 2 ranks with batch B make the same updates as one
process with batch B and grad_accum=2 (VQA: no masking randomness, dropout off), and a
2-rank run with dropout resumes exactly (each rank restores its own RNG stream)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

STEPS = 3
TINY = [f"train.total_steps={STEPS}", "train.warmup_steps=1", "train.ckpt_every=1000",
        "train.val_every=1000", "train.log_every=1", "train.progress=false",
        "train.precision=fp32", "train.device=cpu", "train.batch_size=8", "train.num_threads=1",
        "model.num_layers=1", "model.hidden_size=32", "model.num_heads=2",
        "model.intermediate_size=64", "model.hidden_dropout=0", "model.attention_dropout=0"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def _train(launcher: list[str], world: Path, run: Path, *extra: str) -> None:
    cmd = [*launcher, "vlkit", "train", "uniter-tiny-vqa", f"data.root={world}", f"out={run}",
           *TINY, *extra]
    done = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=240)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]


def _train_logs(run: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [row for row in rows if row["kind"] == "train"]


def test_two_ranks_match_one_process_with_grad_accum(world, tmp_path):
    single, ddp = tmp_path / "single", tmp_path / "ddp"
    _train([sys.executable, "-m"], world, single, "train.grad_accum=2")
    _train([sys.executable, "-m", "torch.distributed.run", "--standalone",
            "--nproc_per_node", "2", "-m"], world, ddp)

    a, b = load_file(single / "model" / "model.safetensors"), load_file(ddp / "model" /
                                                                        "model.safetensors")
    assert a.keys() == b.keys()
    worst = max((a[k] - b[k]).abs().max().item() for k in a)
    assert worst < 1e-5, f"largest weight difference {worst:.3g}"

    # Same batches: the rank-averaged loss of each step is the single run's micro-batch mean.
    logs_a, logs_b = _train_logs(single), _train_logs(ddp)
    assert [r["step"] for r in logs_a] == [r["step"] for r in logs_b] == [1, 2, 3]
    for ra, rb in zip(logs_a, logs_b, strict=True):
        assert ra["vqa_loss"] == pytest.approx(rb["vqa_loss"], rel=1e-5, abs=1e-6)
        assert ra["grad_norm"] == pytest.approx(rb["grad_norm"], rel=1e-4)


def test_two_rank_run_resumes_exactly_with_dropout(world, tmp_path):
    """Each rank's RNG (dropout) is restored: 2 + 2 steps with a resume == 4 steps."""
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                "--nproc_per_node", "2", "-m"]
    common = ["train.schedule=constant", "train.ckpt_every=2", "model.hidden_dropout=0.1",
              "model.attention_dropout=0.1"]
    whole, split = tmp_path / "whole", tmp_path / "split"
    _train(launcher, world, whole, *common, "train.total_steps=4")
    _train(launcher, world, split, *common, "train.total_steps=2")
    _train(launcher, world, split, *common, "train.total_steps=4")
    a, b = load_file(whole / "model" / "model.safetensors"), load_file(split / "model" /
                                                                       "model.safetensors")
    differ = [name for name in a if not torch.equal(a[name], b[name])]
    assert not differ, f"{len(differ)}/{len(a)} tensors differ after resume, e.g. {differ[:3]}"
    assert [r["step"] for r in _train_logs(split)] == [1, 2, 3, 4]


def test_two_nodes_match_one_process_with_grad_accum(world, tmp_path):
    """`torchrun --nnodes 2` with c10d rendezvous on 127.0.0.1 (two local "nodes", one rank
    each, as two separate launches would run on two machines) == one process, grad_accum 2."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    single, nodes = tmp_path / "single", tmp_path / "nodes"
    _train([sys.executable, "-m"], world, single, "train.grad_accum=2")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc_per_node",
           "1", "--rdzv_backend", "c10d", "--rdzv_endpoint", f"127.0.0.1:{port}", "--rdzv_id",
           "vlkit-test", "-m", "vlkit", "train", "uniter-tiny-vqa", f"data.root={world}",
           f"out={nodes}", *TINY]
    launches = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True, env=ENV) for _ in range(2)]
    try:
        outputs = [p.communicate(timeout=240)[0] for p in launches]
    finally:
        for p in launches:
            p.kill()
    assert [p.returncode for p in launches] == [0, 0], "\n".join(o[-3000:] for o in outputs)
    a, b = load_file(single / "model" / "model.safetensors"), load_file(nodes / "model" /
                                                                        "model.safetensors")
    worst = max((a[k] - b[k]).abs().max().item() for k in a)
    assert worst < 1e-5, f"largest weight difference {worst:.3g}"
    assert [r["step"] for r in _train_logs(nodes)] == [1, 2, 3]
