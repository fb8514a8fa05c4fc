"""One writer per output: an exclusive, crash-safe claim on an output folder or store.

`vlkit train`, `eval`, `quickstart`, `data synth|import` and `extract` hold
`claim_output(OUT)` while they write OUT. The claim is an `fcntl.flock` on
`PARENT/.NAME.lock`: the kernel drops it when the process dies however it dies, so a crashed
run never blocks its own resume, and a second writer is refused at once with the holder's
pid. The lock file lives beside OUT (not in it) because stores are built under a temporary
name and renamed into place.

While it holds the claim a command also
- removes the temporary files a killed write of OUT left behind (`.NAME.partial-*` folders
  beside OUT, `.*.tmp` files in OUT and its direct subfolders: see vlkit.utils.atomic), and
- on failure, removes OUT (and the parent folders it created) when OUT is new and holds
  nothing but scaffolding (config.yaml, empty files, tensorboard/), so a command that fails
  before producing anything leaves no new folder behind.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from vlkit.utils.errors import VlkitError

SCAFFOLDING = {"config.yaml"}


class OutputBusyError(VlkitError):
    """Another live process holds the output."""


@contextlib.contextmanager
def claim_output(path: str | os.PathLike, command: str, enabled: bool = True) -> Iterator[Path]:
    """Hold the exclusive claim on output `path` for the block (see the module docstring).

    command: what the holder is doing (named in the refusal another writer gets).
    enabled: False on the non-main processes of a distributed run (rank 0 claims for all).
    """
    path = Path(path)
    if not enabled:
        yield path
        return
    created = _make_parents(path.parent)
    existed = path.exists()
    fd, lock = _acquire(path, command)
    failed = True
    try:
        _remove_stale_temps(path)
        yield path
        failed = False
    finally:
        if failed and not existed:
            _remove_if_empty_of_results(path)
        lock.unlink(missing_ok=True)  # before unlocking: see _acquire
        os.close(fd)
        if not path.exists():
            for folder in created:
                with contextlib.suppress(OSError):
                    folder.rmdir()  # only if empty


def is_main_process() -> bool:
    """Rank 0 of a torchrun launch, or a plain process: the one that claims outputs."""
    return int(os.environ.get("RANK", "0")) == 0


def _make_parents(parent: Path) -> list[Path]:
    """mkdir -p `parent`; the folders it created, deepest first."""
    created = []
    folder = parent.absolute()
    while not folder.exists():
        created.append(folder)
        folder = folder.parent
    parent.mkdir(parents=True, exist_ok=True)
    return created


def _acquire(path: Path, command: str) -> tuple[int, Path]:
    lock = path.parent / f".{path.name}.lock"
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(fd)
            if err.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            raise OutputBusyError(f"{path} is being written by another process "
                                  f"({_holder(lock)}); wait for it to finish or choose "
                                  "another output") from None
        # The holder before us unlinks the file before unlocking it; if we locked such an
        # unlinked file, someone else may lock a new one at the same path: start over.
        try:
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.write(fd, f"pid {os.getpid()}: vlkit {command}\n".encode())
            return fd, lock
        os.close(fd)


def _holder(lock: Path) -> str:
    try:
        return lock.read_text(encoding="utf-8").strip() or "pid unknown"
    except OSError:
        return "pid unknown"


def _remove_stale_temps(path: Path) -> None:
    for partial in path.parent.glob(f".{path.name}.partial-*"):
        shutil.rmtree(partial, ignore_errors=True)
    if not path.is_dir():
        return
    folders = [path] + [d for d in path.iterdir() if d.is_dir()
                        and not (path / f".{d.name}.lock").exists()]  # another live output
    for folder in folders:
        for tmp in folder.glob(".*.tmp"):
            if tmp.is_file():
                tmp.unlink(missing_ok=True)


def _remove_if_empty_of_results(path: Path) -> bool:
    """Remove `path` unless it holds results (a checkpoint, metrics) worth a resume."""
    if path.is_dir():
        for item in path.rglob("*"):
            inside = item.relative_to(path).parts
            if item.is_file() and item.name not in SCAFFOLDING and inside[0] != "tensorboard" \
                    and item.stat().st_size > 0:
                return False
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        return False
    return True
