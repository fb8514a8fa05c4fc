"""`vlkit extract --format uniter` writes a UNITER img_db: read back through vlkit's UNITER
reader and decoded by hand the way UNITER's DetectFeatLmdb does (the recipe in
../shared/fixtures/uniter_db/manifest.json), it holds what the native store holds."""

from __future__ import annotations

import json
from pathlib import Path

import msgpack
import numpy as np
import pytest
from extract_helpers import save_resnet, write_images

from vlkit.cli.main import main
from vlkit.data.stores.lmdb_reader import LmdbReader
from vlkit.data.stores.native_img import NativeImageStore
from vlkit.data.stores.open import open_store
from vlkit.data.stores.uniter_img_db import UniterImageStore
from vlkit.extract.api import load_options

RULE = "th0.2_max100_min10"


def extract(images: Path, out: Path, weights: Path, *extra: str) -> None:
    assert main(["extract", "--images", str(images), "--out", str(out), "--route", "grid",
                 "--backbone", "resnet18", "--weights", str(weights), "--grid", "2",
                 "--min-size", "0", "--threads", "1", "--no-progress", *extra]) == 0


def decode_like_uniter(env_dir: Path, key: str) -> dict[str, np.ndarray]:
    """UNITER's decoding, written from the fixture manifest's recipe (no msgpack_numpy; the
    bytes come through vlkit's reader because LMDB allows one open per process)."""
    value = msgpack.unpackb(LmdbReader(env_dir).get(key), raw=False, strict_map_key=False)
    return {name: np.frombuffer(a[b"data"], dtype=a[b"type"]).reshape(a[b"shape"])
            for name, a in value.items()}


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("fmt")
    weights = save_resnet(root / "resnet18.pth")
    write_images(root / "images", 5)
    extract(root / "images", root / "native", weights)
    extract(root / "images", root / "uniter", weights, "--format", "uniter")
    return root / "native", root / "uniter"


def test_uniter_img_db_holds_the_native_regions(stores):
    native, uniter = NativeImageStore(stores[0]), open_store(stores[1])
    assert isinstance(uniter, UniterImageStore) and uniter.path.name == f"feat_{RULE}"
    assert sorted(uniter.ids()) == [f"{i}.npz" for i in native.ids()]
    nbb = json.loads((stores[1] / f"nbb_{RULE}.json").read_text())
    for image_id in native.ids():
        want, got = native.get(image_id), uniter.get(f"{image_id}.npz")
        np.testing.assert_array_equal(got.feat, want.feat.astype(np.float32))
        np.testing.assert_array_equal(got.boxes[:, :6],
                                      want.boxes[:, :6].astype(np.float16).astype(np.float32))
        assert nbb[f"{image_id}.npz"] == want.num_boxes
        raw = decode_like_uniter(uniter.path, f"{image_id}.npz")
        assert sorted(raw) == ["conf", "features", "norm_bb"]  # grid route: no soft labels
        assert all(a.dtype == np.float16 for a in raw.values())
        np.testing.assert_array_equal(raw["features"], want.feat)


def test_keys_entry_and_recorded_options(stores):
    listed = json.loads(LmdbReader(stores[1] / f"feat_{RULE}").get("__keys__"))
    assert sorted(listed) == sorted(open_store(stores[1]).ids())
    options, sha = load_options(stores[1])
    native_options, native_sha = load_options(stores[0])
    assert options == native_options and sha == native_sha and len(sha) == 64


def test_existing_output_is_refused(stores, tmp_path, capsys):
    before = sorted(p.name for p in stores[1].iterdir())
    assert main(["extract", "--images", str(tmp_path), "--out", str(stores[1]), "--format",
                 "uniter", "--route", "grid", "--weights", str(tmp_path / "w.pth")]) == 2
    assert "already exists" in capsys.readouterr().err
    assert sorted(p.name for p in stores[1].iterdir()) == before
