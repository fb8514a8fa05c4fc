"""Disk and permissions: a full disk, a read-only folder or a file-size limit is a one-line
error naming the path and the OS reason; earlier checkpoints survive a failed write.

The full and read-only cases mount a tmpfs in a private mount namespace (`unshare -m`, so
nothing outlives the test); they are skipped, with the reason, where that is not allowed."""

from __future__ import annotations

import os
import resource
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def _train(world: Path, out: Path, tiny: list[str], *extra: str) -> list[str]:
    return [sys.executable, "-m", "vlkit", "train", "uniter-tiny-vqa", f"data.root={world}",
            f"out={out}", *tiny, *extra]


def _in_private_tmpfs(mnt: Path, script: str) -> subprocess.CompletedProcess:
    """Run bash `script` with a `size`-limited tmpfs mounted on `mnt`, in a mount namespace
    of its own; skip the test when this machine does not allow it."""
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot create a mount namespace (unshare -m: {probe.stderr.decode()!r})")
    mnt.mkdir()
    return subprocess.run(["unshare", "-m", "bash", "-c", script], capture_output=True,
                          text=True, env=ENV, timeout=300)


def test_full_disk_names_the_checkpoint_and_keeps_the_earlier_ones(world, tiny, tmp_path):
    mnt = tmp_path / "mnt"
    cmd = shlex.join(_train(world, mnt / "run", tiny, "train.total_steps=6",
                            "train.ckpt_every=1", "train.keep_checkpoints=0"))
    done = _in_private_tmpfs(mnt, f"mount -t tmpfs -o size=600k tmpfs {mnt} || exit 99\n"
                                  f"{cmd}\necho rc=$?\nls {mnt}/run/checkpoints")
    if "rc=" not in done.stdout:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()[-300:]}")
    assert "rc=2" in done.stdout, done.stderr[-3000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"vlkit train: error: {mnt}/run/checkpoints/step_0000000")
    assert last.endswith(".pt: No space left on device") and "Traceback" not in done.stderr
    assert "step_00000001.pt" in done.stdout  # the checkpoint before the full disk survives
    assert ".tmp" not in done.stdout


def test_read_only_folder_is_one_line_naming_the_path(world, tiny, tmp_path):
    mnt = tmp_path / "mnt"
    first = shlex.join(_train(world, mnt / "run", tiny, "train.total_steps=1"))
    again = shlex.join(_train(world, mnt / "run", tiny, "train.total_steps=2"))
    done = _in_private_tmpfs(mnt, f"mount -t tmpfs -o size=20m tmpfs {mnt} || exit 99\n"
                                  f"{first} || exit 98\nmount -o remount,ro {mnt} || exit 97\n"
                                  f"{again}\necho rc=$?")
    if "rc=" not in done.stdout:
        pytest.skip(f"cannot mount or remount a tmpfs here (exit {done.returncode}): "
                    f"{done.stderr.strip()[-300:]}")
    assert "rc=2" in done.stdout, done.stderr[-3000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"vlkit train: error: {mnt}") and "Traceback" not in done.stderr
    assert last.endswith(": Read-only file system")


def _limit_file_size():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))


def test_file_size_limit_names_the_checkpoint(world, tiny, tmp_path):
    """No mount needed: RLIMIT_FSIZE makes the checkpoint write fail the way a full disk does
    (the OS reason then is "File too large")."""
    run = tmp_path / "run"
    done = subprocess.run(_train(world, run, tiny, "train.total_steps=2", "train.ckpt_every=1"),
                          capture_output=True, text=True, env=ENV, timeout=300,
                          preexec_fn=_limit_file_size)
    assert done.returncode == 2, done.stderr[-3000:]
    assert done.stderr.strip().splitlines()[-1] == \
        f"vlkit train: error: {run}/checkpoints/step_00000001.pt: File too large"
    assert list((run / "checkpoints").iterdir()) == []  # no half-written file


def test_verbose_adds_the_traceback(world, tiny, tmp_path):
    run = tmp_path / "run"
    cmd = _train(world, run, tiny, "train.total_steps=2", "train.ckpt_every=1")
    cmd.insert(3, "-v")
    done = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=300,
                          preexec_fn=_limit_file_size)
    assert done.returncode == 2
    assert "Traceback (most recent call last)" in done.stderr
    assert done.stderr.strip().endswith("step_00000001.pt: File too large")
