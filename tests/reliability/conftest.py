"""Small stores written through vlkit's own writers, for damaging in the tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vlkit.data.records import ImageRecord
from vlkit.data.stores.native_img import NativeImageStoreWriter


def _boxes(n: int) -> np.ndarray:
    x1 = np.linspace(0.0, 0.5, n, dtype=np.float32)
    y1 = np.zeros(n, np.float32)
    x2, y2 = x1 + 0.25, y1 + 0.5
    return np.stack([x1, y1, x2, y2, x2 - x1, y2 - y1, (x2 - x1) * (y2 - y1)], axis=1)


@pytest.fixture
def img_store(tmp_path) -> Path:
    """A native image store of 3 images (img0..img2) with 2, 3, 4 regions of 8-d features."""
    path = tmp_path / "img"
    rng = np.random.default_rng(0)
    with NativeImageStoreWriter(path) as writer:
        for i, n in enumerate((2, 3, 4)):
            writer.add(ImageRecord(id=f"img{i}", feat=rng.random((n, 8), np.float32),
                                   boxes=_boxes(n)))
    return path


def write_uniter_img_db(folder: Path, images: dict[str, dict[str, np.ndarray]]) -> Path:
    """A UNITER img_db variant folder holding `images` (msgpack-numpy values, as UNITER's
    convert_imgdir.py writes them, and its `__keys__` list)."""
    import json

    import lmdb
    import msgpack
    import msgpack_numpy

    folder.mkdir(parents=True)
    env = lmdb.open(str(folder), map_size=1 << 26)
    with env.begin(write=True) as txn:
        for name, arrays in images.items():
            txn.put(name.encode(), msgpack.packb(arrays, use_bin_type=True,
                                                 default=msgpack_numpy.encode))
        txn.put(b"__keys__", json.dumps(list(images)).encode())
    env.close()
    (folder / "lock.mdb").unlink(missing_ok=True)
    return folder


def uniter_arrays(rng: np.random.Generator, n: int = 10, dim: int = 64) -> dict[str, np.ndarray]:
    """One image's float16 arrays in UNITER's names (features, 6-d norm_bb, conf)."""
    return {"features": rng.random((n, dim)).astype(np.float16),
            "norm_bb": np.tile(np.array([0, 0, .5, .5, .5, .5], np.float16), (n, 1)),
            "conf": np.full(n, 0.9, np.float16)}


@pytest.fixture
def make_uniter_img_db():
    """make(folder, {name: arrays}) -> the img_db variant folder (see write_uniter_img_db)."""
    return write_uniter_img_db


@pytest.fixture
def uniter_img_db(tmp_path) -> Path:
    """A UNITER img_db variant folder of 300 images, big enough that its data.mdb spans many
    pages."""
    rng = np.random.default_rng(0)
    images = {f"img_{i:04d}.npz": uniter_arrays(rng) for i in range(300)}
    return write_uniter_img_db(tmp_path / "img_db" / "feat_th0.2_max100_min10", images)


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> Path:
    """A tiny synthetic world (read-only: runs write elsewhere)."""
    from vlkit.data.synthetic.world import build_world

    out = tmp_path_factory.mktemp("shared") / "world"
    build_world(out, num_images=24, seed=0)
    return out


TINY = ["train.progress=false", "train.precision=fp32", "train.device=cpu",
        "train.num_threads=1", "train.log_every=1", "train.warmup_steps=1", "train.val_every=100",
        "model.num_layers=1", "model.hidden_size=32", "model.num_heads=2",
        "model.intermediate_size=64", "train.batch_size=4", "data.train_limit=16"]


@pytest.fixture(scope="session")
def tiny() -> list[str]:
    """Overrides that make any preset a seconds-long one-thread run."""
    return list(TINY)
