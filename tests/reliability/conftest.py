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
