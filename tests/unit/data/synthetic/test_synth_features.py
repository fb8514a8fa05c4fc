"""Region features and boxes: shapes, ranges, no attribute one-hots, linear readability."""

from __future__ import annotations

import numpy as np

from vlkit.data.stores.native_img import NativeImageStore
from vlkit.data.synthetic.features import LABEL_NAMES
from vlkit.data.synthetic.probes import ridge_probe
from vlkit.data.synthetic.world import make_images
from vlkit.featurizers.synthetic import FeatureExtractor, get_extractor


def test_store_features_boxes_and_soft_labels(synth_world):
    path, manifest = synth_world
    store = NativeImageStore(path / "img")
    assert len(store) == manifest["num_images"] and store.feat_dim == manifest["feat_dim"]
    for img_id in store.ids():
        rec = store.get(img_id)
        n = rec.num_boxes
        assert 3 <= n <= 9
        assert rec.feat.shape == (n, manifest["feat_dim"]) and np.isfinite(rec.feat).all()
        assert rec.boxes.shape == (n, 7)
        assert (rec.boxes >= 0).all() and (rec.boxes <= 1).all()
        w, h = rec.boxes[:, 2] - rec.boxes[:, 0], rec.boxes[:, 3] - rec.boxes[:, 1]
        np.testing.assert_allclose(rec.boxes[:, 4], w, atol=1e-6)
        np.testing.assert_allclose(rec.boxes[:, 6], w * h, atol=1e-6)
        assert rec.soft_labels.shape == (n, manifest["label_dim"]) == (n, len(LABEL_NAMES))
        np.testing.assert_allclose(rec.soft_labels.astype(np.float32).sum(1), 1.0, atol=1e-2)


def _labelled_regions(num_images: int, feat_dim: int):
    records, items, _ = make_images(5, range(num_images), get_extractor(feat_dim))
    feat, colour, shape, cls = [], [], [], []
    for rec, item in zip(records, items, strict=True):
        region_class = np.zeros(rec.num_boxes, dtype=np.int64)
        region_class[item.obj_region] = item.scene.shape + 1
        feat.append(rec.feat[item.obj_region])
        colour.append(item.scene.colour)
        shape.append(item.scene.shape)
        cls.append(region_class)
    return (np.concatenate(feat), np.concatenate(colour), np.concatenate(shape),
            np.concatenate(cls))


def test_no_feature_column_is_an_attribute_indicator():
    feat, colour, shape, _ = _labelled_regions(60, 256)
    z = (feat - feat.mean(0)) / (feat.std(0) + 1e-8)  # (R, D)
    for values, count in ((colour, 8), (shape, 6)):
        onehot = np.eye(count)[values]
        ind = (onehot - onehot.mean(0)) / (onehot.std(0) + 1e-8)  # (R, count)
        corr = z.T @ ind / len(values)  # (D, count) Pearson correlations
        # a leaked one-hot column would be an affine function of an indicator: |corr| = 1
        assert np.abs(corr).max() < 0.99


def test_colour_and_shape_are_linearly_readable():
    feat, colour, shape, _ = _labelled_regions(300, 256)
    cut = int(0.8 * len(colour))
    assert ridge_probe(feat[:cut], colour[:cut], feat[cut:], colour[cut:]) > 0.9
    assert ridge_probe(feat[:cut], shape[:cut], feat[cut:], shape[cut:]) > 0.6


def test_extractor_is_fixed_and_sized():
    a, b = FeatureExtractor(48), FeatureExtractor(48)
    np.testing.assert_array_equal(a.projection, b.projection)
    images = np.random.default_rng(0).integers(0, 255, (2, 96, 96, 3), dtype=np.uint8)
    boxes = np.array([[0, 0, 96, 96], [10, 20, 30, 50]], dtype=np.float32)
    for dim in (16, 256, 300):
        out = get_extractor(dim)(images, np.array([0, 1]), boxes)
        assert out.shape == (2, dim) and np.isfinite(out).all()


def test_features_do_not_depend_on_batch_composition():
    """Stored float16 values must not change with chunking or BLAS threading."""
    records, _, _ = make_images(2, range(40), get_extractor(64))
    single = [make_images(2, range(i, i + 1), get_extractor(64))[0][0] for i in range(40)]
    for whole, alone in zip(records, single, strict=True):
        np.testing.assert_array_equal(whole.feat.astype(np.float16), alone.feat.astype(np.float16))
