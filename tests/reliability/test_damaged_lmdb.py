"""A truncated UNITER LMDB (an interrupted copy) is a one-line error naming data.mdb, never a
SIGBUS: the file's size is checked against its own meta pages before it is mapped."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from vlkit.data.stores.open import open_store
from vlkit.utils.errors import DataError


def _validate(path) -> subprocess.CompletedProcess:
    # a subprocess: a SIGBUS here would otherwise kill the test runner
    return subprocess.run([sys.executable, "-m", "vlkit", "data", "validate", str(path)],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


def test_intact_img_db_validates(uniter_img_db):
    done = _validate(uniter_img_db)
    assert done.returncode == 0, done.stderr
    assert "OK:" in done.stdout and "300 image records" in done.stdout


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_data_mdb_is_an_error_naming_the_file(uniter_img_db, keep):
    data = uniter_img_db / "data.mdb"
    size = data.stat().st_size
    os.truncate(data, int(size * keep) // 4096 * 4096)
    done = _validate(uniter_img_db)
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert done.stderr.startswith(f"vlkit data: error: {data}: ")
    assert "the file is truncated" in done.stderr and "Traceback" not in done.stderr
    with pytest.raises(DataError, match="LMDB meta page says"):
        open_store(uniter_img_db)


def test_data_mdb_cut_inside_its_meta_pages(uniter_img_db):
    data = uniter_img_db / "data.mdb"
    os.truncate(data, 100)
    done = _validate(uniter_img_db)
    assert done.returncode == 2
    assert f"{data}: not an LMDB data file" in done.stderr


def test_nan_features_in_an_img_db_are_refused_by_validate_and_by_training_reads(
        tmp_path, make_uniter_img_db):
    import numpy as np

    from vlkit.data.stores.checked import CheckedImageStore

    box = np.array([0, 0, .5, .5, .5, .5], np.float16)
    images = {f"img_{i}.npz": {"features": np.ones((4, 8), np.float16),
                               "norm_bb": np.tile(box, (4, 1)),
                               "conf": np.full(4, 0.9, np.float16)} for i in range(3)}
    images["img_1.npz"]["features"][2, 5] = np.nan
    folder = make_uniter_img_db(tmp_path / "feat_th0.2_max100_min10", images)
    done = _validate(folder)
    assert done.returncode == 1 and "record img_1.npz: feat: 1 non-finite value(s)" in done.stdout
    store = CheckedImageStore(open_store(folder))  # what training and evaluation read through
    store.get("img_0.npz")
    with pytest.raises(DataError, match=r"record 'img_1.npz': feat: 1 non-finite value\(s\)"):
        store.get("img_1.npz")
