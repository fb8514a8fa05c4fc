"""One writer per output: a second `vlkit train` / `data synth` / `data import` on an output a
live process holds is refused at once, naming the folder and the holder's pid; the claim dies
with its process, so a crashed run still resumes; stale temp files of a killed write go."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vlkit.cli.main import main
from vlkit.utils.output_lock import OutputBusyError, claim_output

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
HOLD = ("import sys, time\nfrom vlkit.utils.output_lock import claim_output\n"
        "with claim_output(sys.argv[1], 'train'):\n    print('held', flush=True)\n"
        "    time.sleep(60)\n")


@pytest.fixture
def holder():
    """holder(path) -> a live process holding the claim on `path` (killed at teardown)."""
    procs = []

    def start(path: Path) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE,
                                text=True, env=ENV)
        procs.append(proc)
        assert proc.stdout.readline().strip() == "held"
        return proc
    yield start
    for proc in procs:
        proc.kill()
        proc.wait(timeout=30)


def test_second_train_on_a_held_run_folder_is_refused(world, tiny, tmp_path, holder, capsys):
    run = tmp_path / "run"
    proc = holder(run)
    start = time.monotonic()
    code = main(["train", "uniter-tiny-vqa", f"data.root={world}", f"out={run}",
                 "train.total_steps=2", *tiny])
    err = capsys.readouterr().err
    assert code == 2 and time.monotonic() - start < 30
    assert err.strip() == (f"vlkit train: error: {run} is being written by another process "
                           f"(pid {proc.pid}: vlkit train); wait for it to finish or choose "
                           "another output")
    assert not (run / "config.yaml").exists()


def test_killed_holder_frees_the_folder_and_the_run_resumes(world, tiny, tmp_path, holder):
    run = tmp_path / "run"
    args = ["train", "uniter-tiny-vqa", f"data.root={world}", f"out={run}", *tiny]
    assert main([*args, "train.total_steps=2", "train.ckpt_every=1"]) == 0
    proc = holder(run)
    proc.kill()  # SIGKILL: no cleanup ran, the lock file stays, the kernel lock does not
    proc.wait(timeout=30)
    assert (tmp_path / ".run.lock").exists()
    assert main([*args, "train.total_steps=3", "train.ckpt_every=1"]) == 0
    assert (run / "checkpoints" / "step_00000003.pt").exists()
    assert not (tmp_path / ".run.lock").exists()


@pytest.mark.parametrize("command", [["data", "synth", "--images", "4"],
                                     ["data", "import", "nlvr2", "x.jsonl"]])
def test_data_writers_refuse_a_held_output(tmp_path, holder, capsys, command):
    out = tmp_path / "out"
    proc = holder(out)
    assert main([*command, "--out", str(out)]) == 2
    assert f"{out} is being written by another process (pid {proc.pid}" in \
        capsys.readouterr().err
    assert not out.exists()


def test_a_claim_is_exclusive_within_one_process_too(tmp_path):
    with claim_output(tmp_path / "x", "data synth"):
        with pytest.raises(OutputBusyError, match=f"pid {os.getpid()}: vlkit data synth"):
            with claim_output(tmp_path / "x", "data synth"):
                pass
    with claim_output(tmp_path / "x", "data synth"):  # released: free again
        pass


def test_stale_temp_files_of_a_killed_write_are_removed(tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    stale = [run / ".metrics.jsonl.k2j3.tmp", run / "checkpoints" / ".step_00000004.pt.a1.tmp"]
    for path in stale:
        path.write_bytes(b"half a file")
    (tmp_path / ".store.partial-abc").mkdir()
    keep = run / "checkpoints" / "step_00000002.pt"
    keep.write_bytes(b"ckpt")
    with claim_output(run, "train"):
        pass
    with claim_output(tmp_path / "store", "data import"):
        pass
    assert not any(path.exists() for path in stale) and keep.exists()
    assert not (tmp_path / ".store.partial-abc").exists()


def test_a_store_writer_never_replaces_an_output_that_appeared_meanwhile(tmp_path):
    """Library users writing without a claim: the second of two writers fails, it does not
    silently replace the first one's store."""
    from vlkit.utils.atomic import atomic_dir

    out = tmp_path / "store"
    with pytest.raises(FileExistsError, match="created by another writer meanwhile"):
        with atomic_dir(out) as tmp:
            (tmp / "mine").write_text("second")
            with atomic_dir(out) as other:
                (other / "theirs").write_text("first")
    assert [p.name for p in out.iterdir()] == ["theirs"]
    assert [p.name for p in tmp_path.iterdir()] == ["store"]  # no partial folder left


def test_second_quickstart_on_a_held_folder_is_refused(tmp_path, holder, capsys):
    out = tmp_path / "qs"
    proc = holder(out)
    assert main(["quickstart", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(out) in err and f"pid {proc.pid}" in err
    assert not out.exists()  # nothing was started
