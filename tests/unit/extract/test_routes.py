"""The boxes and grid routes on random-weight backbones: shapes, UNITER box
normalisation, values derived from the feature map, determinism."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from vlkit.extract.backbones import IMAGENET_MEAN, IMAGENET_STD
from vlkit.extract.boxes import read_box_file
from vlkit.extract.extractor import Extractor
from vlkit.extract.grid import grid_boxes
from vlkit.extract.options import ExtractOptions
from vlkit.featurizers.synthetic import get_extractor
from vlkit.utils.errors import ConfigError, DataError


def resnet_map(extractor: Extractor, pixels: np.ndarray) -> torch.Tensor:
    """The C5 map of an image at its own size, normalised by hand (ImageNet mean/std)."""
    x = torch.from_numpy(pixels).permute(2, 0, 1).float() / 255.0
    x = (x - torch.tensor(IMAGENET_MEAN).view(3, 1, 1)) / torch.tensor(IMAGENET_STD).view(3, 1, 1)
    with torch.no_grad():
        return extractor.model.net(x[None])[0]


@pytest.fixture
def pixels() -> np.ndarray:
    return np.random.default_rng(1).integers(0, 255, (64, 80, 3), dtype=np.uint8)


def test_grid_boxes_cover_the_image_row_major():
    boxes = grid_boxes(60, 90, 2, 3)
    assert boxes.tolist() == [[0, 0, 30, 30], [30, 0, 60, 30], [60, 0, 90, 30],
                              [0, 30, 30, 60], [30, 30, 60, 60], [60, 30, 90, 60]]


def test_grid_route_regions_are_map_cells(resnet18_file, pixels):
    ex = Extractor(ExtractOptions(route="grid", backbone="resnet18", weights=str(resnet18_file),
                                  grid=0, min_size=0))
    rec = ex.record("a", pixels)
    fmap = resnet_map(ex, pixels)  # (512, 2, 3): 64/32 x ceil(80/32)
    assert fmap.shape == (512, 2, 3) and ex.feat_dim == 512
    assert rec.feat.shape == (6, 512) and rec.soft_labels is None
    np.testing.assert_allclose(rec.feat[4], fmap[:, 1, 1].numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rec.boxes[0], [0, 0, 1 / 3, 0.5, 1 / 3, 0.5, 1 / 6], atol=1e-6)
    np.testing.assert_allclose(rec.boxes[5], [2 / 3, 0.5, 1, 1, 1 / 3, 0.5, 1 / 6], atol=1e-6)


def test_grid_route_pools_to_a_fixed_grid(resnet18_file, pixels):
    ex = Extractor(ExtractOptions(route="grid", backbone="resnet18", weights=str(resnet18_file),
                                  grid=1, min_size=0))
    rec = ex.record("a", pixels)
    assert rec.feat.shape == (1, 512)
    np.testing.assert_allclose(rec.feat[0], resnet_map(ex, pixels).mean(dim=(1, 2)).numpy(),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rec.boxes, [[0, 0, 1, 1, 1, 1, 1]])
    pooled = Extractor(ExtractOptions(route="grid", backbone="resnet18",
                                      weights=str(resnet18_file), grid=4, min_size=96))
    assert pooled.record("a", pixels).feat.shape == (16, 512)


def test_boxes_route_whole_image_box_averages_the_map(resnet18_file):
    """pool 1, 2 samples per axis over a 4x4 map: samples at cells 0.5 and 2.5, i.e. the
    halves of cells (0, 1) and (2, 3): the mean of the whole map."""
    pixels = np.random.default_rng(2).integers(0, 255, (128, 128, 3), dtype=np.uint8)
    ex = Extractor(ExtractOptions(route="boxes", backbone="resnet18", weights=str(resnet18_file),
                                  pool=1, sampling_ratio=2, min_size=0))
    rec = ex.record("a", pixels, np.array([[0, 0, 128, 128], [0, 0, 64, 32]]))
    assert rec.feat.shape == (2, 512)
    np.testing.assert_allclose(rec.feat[0], resnet_map(ex, pixels).mean(dim=(1, 2)).numpy(),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rec.boxes[1], [0, 0, 0.5, 0.25, 0.5, 0.25, 0.125])


def test_boxes_route_resizes_boxes_with_the_image(resnet18_file):
    """Upscaling image and boxes together: the box keeps its place on the (larger) map."""
    pixels = np.random.default_rng(3).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    small = Extractor(ExtractOptions(route="boxes", backbone="resnet18",
                                     weights=str(resnet18_file), min_size=0))
    big = Extractor(ExtractOptions(route="boxes", backbone="resnet18",
                                   weights=str(resnet18_file), min_size=128))
    box = np.array([[0, 0, 64, 64]])
    a, b = small.record("a", pixels, box), big.record("a", pixels, box)
    np.testing.assert_array_equal(a.boxes, b.boxes)
    fmap = big.model.feature_map(pixels)[0]
    assert fmap.shape[1:] == (4, 4)  # 128 / 32: the image was upscaled
    with pytest.raises(ConfigError, match="needs its boxes"):
        small.record("a", pixels)


def test_synthetic_backbone_is_the_world_extractor(pixels):
    ex = Extractor(ExtractOptions(route="boxes", backbone="synthetic", feat_dim=32))
    box = np.array([[8, 5, 40, 25], [0, 0, 80, 64]], dtype=np.float32)
    rec = ex.record("s", pixels, box)
    direct = get_extractor(32)(pixels[None], np.zeros(2, dtype=np.int64), box)
    np.testing.assert_array_equal(rec.feat, direct)
    np.testing.assert_allclose(rec.boxes[0], [0.1, 5 / 64, 0.5, 25 / 64, 0.4, 20 / 64,
                                              0.4 * 20 / 64], atol=1e-7)


def test_extraction_is_deterministic(resnet18_file, pixels):
    opts = ExtractOptions(route="boxes", backbone="resnet18", weights=str(resnet18_file),
                          min_size=0)
    box = np.array([[3.5, 7.25, 60, 50], [10, 10, 20, 20]])
    first = Extractor(opts).record("a", pixels, box)
    second = Extractor(opts).record("a", pixels, box)
    np.testing.assert_array_equal(first.feat, second.feat)


def test_box_file_formats_and_errors(tmp_path):
    path = tmp_path / "boxes.json"
    path.write_text(json.dumps({"a": [[10, 20, 30, 40]], "b/c": [[0, 0, 5, 5], [1, 2, 3, 4]]}))
    xyxy = read_box_file(path)
    assert xyxy["a"].tolist() == [[10, 20, 30, 40]] and xyxy["b/c"].shape == (2, 4)
    assert read_box_file(path, "xywh")["a"].tolist() == [[10, 20, 40, 60]]
    for bad, message in (([[1, 2, 3]], "expected a non-empty list"),
                         ([[5, 5, 1, 9]], "box 0 .* has x2 < x1"),
                         ("x", "boxes must be a list of 4 numbers")):
        path.write_text(json.dumps({"img7": bad}))
        with pytest.raises(DataError, match=f"boxes.json: image 'img7': {message}"):
            read_box_file(path)


def test_weights_of_another_depth_name_the_matching_backbone(resnet18_file):
    for route in ("boxes", "grid"):
        opts = ExtractOptions(route=route, backbone="resnet50", weights=str(resnet18_file))
        with pytest.raises(ConfigError, match=r"resnet18 weights \(blocks per stage "
                                              r"\[2, 2, 2, 2\]\), but --backbone is resnet50; "
                                              r"pass --backbone resnet18"):
            Extractor(opts)
