from __future__ import annotations

import os
import stat

import pytest

from vlkit.utils.atomic import atomic_dir, atomic_write_json, atomic_write_text


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    path = tmp_path / "a" / "f.json"
    atomic_write_json(path, {"x": 1})
    atomic_write_text(path, "new")
    assert path.read_text() == "new"
    assert [p.name for p in path.parent.iterdir()] == ["f.json"]


def test_failed_write_keeps_old_content(tmp_path):
    path = tmp_path / "f.txt"
    path.write_text("old")

    def boom(tmp):
        tmp.write_text("half")
        raise RuntimeError("crash")

    from vlkit.utils.atomic import atomic_write

    with pytest.raises(RuntimeError):
        atomic_write(path, boom)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_atomic_dir_crash_leaves_nothing(tmp_path):
    target = tmp_path / "store"
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as tmp:
            (tmp / "part").write_text("x")
            raise RuntimeError("crash")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []
    with atomic_dir(target) as tmp:
        (tmp / "done").write_text("x")
    assert (target / "done").exists()
    with pytest.raises(FileExistsError):
        with atomic_dir(target):
            pass


@pytest.mark.parametrize(("umask", "file_mode", "dir_mode"),
                         [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700)])
def test_outputs_get_the_umask_mode_not_tempfiles_0600(tmp_path, umask, file_mode, dir_mode):
    old = os.umask(umask)
    try:
        path = atomic_write_text(tmp_path / "f.txt", "x")
        with atomic_dir(tmp_path / "store") as tmp:
            (tmp / "data.bin").write_bytes(b"1")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == file_mode
    assert stat.S_IMODE((tmp_path / "store").stat().st_mode) == dir_mode
