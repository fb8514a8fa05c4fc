"""The world's region records go through the extraction code (the given-boxes route) without
changing a single value: pinned against the pre-extraction code and stored bytes."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from vlkit.data.records import ImageRecord, xyxy_to_box7
from vlkit.data.synthetic.features import region_boxes
from vlkit.data.synthetic.features import soft_labels as make_soft_labels
from vlkit.data.synthetic.render import render_scene
from vlkit.data.synthetic.scene import IMAGE_SIZE, sample_scene
from vlkit.data.synthetic.world import build_world, make_images
from vlkit.featurizers.synthetic import get_extractor

# The image store of build_world(num_images=12, seed=7, feat_dim=32), written by the world code as
# it was before the world called vlkit.extract (commit e323ae0). A deliberate change to the scene
# generator or the features (GENERATOR_VERSION bump) updates it. Files no matrix product touches
# (boxes, soft labels from the seeded RNG, the JSON) are pinned by SHA-256; the features come
# from a convolution whose last bits vary with the BLAS build, so they are pinned as values.
PINNED_STORE = {
    "boxes.bin": "00ec3773682df365ae513f1d5af7aa0514a637129727549ba91d69c4a7ce775c",
    "index.json": "1444ccf780279cacf55212aa6cc0ff251a444108a06f10ea2bd121c9fb7f7c08",
    "manifest.json": "56df37c86eba2c6f5504fdd128b26af87b328f5fb597ed0e75793cf7a3d8e131",
    "soft_labels.bin": "e924ec61bec24bda20a277f0d71f5605d74eee2524dd2a6b5cabc08ed5fe432d",
}
PINNED_FEAT_ROWS = [  # the first two regions' first 8 features (fp16 as stored)
    [-1.2627, -0.7051, 0.4456, -0.6895, 0.2405, -1.1494, -1.7217, -0.748],
    [0.5757, -1.0068, -0.2471, 1.2158, 1.7783, -0.0162, 0.0711, -0.314],
]
PINNED_FEAT_SUMS = {"sum": -178.28993, "abs_sum": 1854.46066, "square_sum": 2563.39449}


def legacy_records(seed: int, indices: range, feat_dim: int) -> list[ImageRecord]:
    """The image records exactly as world.make_images built them before the refactor."""
    extractor = get_extractor(feat_dim)
    pixels, boxes, owner, softs, ids = [], [], [], [], []
    for b, index in enumerate(indices):
        rng = np.random.default_rng([seed, 0, index])
        scene = sample_scene(rng)
        pixels.append(render_scene(scene, rng))
        xyxy, obj_region = region_boxes(scene, rng)
        region_class = np.zeros(xyxy.shape[0], dtype=np.int64)
        region_class[obj_region] = scene.shape + 1
        softs.append(make_soft_labels(region_class, rng))
        boxes.append(xyxy)
        owner.append(np.full(xyxy.shape[0], b))
        ids.append(f"synth-{index:06d}")
    feat = extractor(np.stack(pixels), np.concatenate(owner), np.concatenate(boxes))
    records, start = [], 0
    for rid, xyxy, soft in zip(ids, boxes, softs, strict=True):
        n = xyxy.shape[0]
        records.append(ImageRecord(rid, feat[start:start + n],
                                   xyxy_to_box7(xyxy, IMAGE_SIZE, IMAGE_SIZE), soft))
        start += n
    return records


@pytest.mark.parametrize(("seed", "indices", "feat_dim"),
                         [(0, range(0, 6), 256), (3, range(17, 21), 64), (11, range(5), 300)])
def test_make_images_equals_legacy_code(seed, indices, feat_dim):
    new, items, _ = make_images(seed, indices, get_extractor(feat_dim))
    old = legacy_records(seed, indices, feat_dim)
    assert [r.id for r in new] == [r.id for r in old] == [i.img_id for i in items]
    for a, b in zip(new, old, strict=True):
        assert a.feat.dtype == b.feat.dtype and a.boxes.dtype == b.boxes.dtype
        np.testing.assert_array_equal(a.feat, b.feat)
        np.testing.assert_array_equal(a.boxes, b.boxes)
        np.testing.assert_array_equal(a.soft_labels, b.soft_labels)
        assert a.extras == {}


def test_world_image_store_is_pinned(tmp_path):
    build_world(tmp_path / "w", num_images=12, seed=7, feat_dim=32)
    folder = tmp_path / "w" / "img"
    got = {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in PINNED_STORE}
    assert got == PINNED_STORE
    feat = np.fromfile(folder / "feat.bin", dtype="<f2").reshape(73, 32).astype(np.float64)
    np.testing.assert_allclose(feat[:2, :8], PINNED_FEAT_ROWS, atol=2e-3)
    sums = {"sum": feat.sum(), "abs_sum": np.abs(feat).sum(), "square_sum": (feat**2).sum()}
    for name, value in PINNED_FEAT_SUMS.items():
        assert sums[name] == pytest.approx(value, rel=1e-3, abs=0.05), name
