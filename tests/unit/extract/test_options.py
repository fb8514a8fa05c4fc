"""Extraction options: checks that name the flag, round trip through a manifest dict."""

from __future__ import annotations

import pytest
import torch

from vlkit.extract.extractor import Extractor
from vlkit.extract.options import ExtractOptions
from vlkit.utils.errors import CheckpointError, ConfigError


@pytest.mark.parametrize(("changes", "message"), [
    ({"route": "regions"}, "--route"),
    ({"backbone": "vgg16", "weights": "w.pth"}, "--backbone"),
    ({"weights": ""}, "--weights: the resnet50 weights file is required"),
    ({"route": "detector", "weights": ""}, "Faster R-CNN weights file is required"),
    ({"route": "grid", "backbone": "synthetic"}, "--route grid needs a feature-map backbone"),
    ({"grid": -1, "weights": "w.pth"}, "--grid must be >= 0"),
    ({"min_boxes": 20, "max_boxes": 10, "weights": "w.pth"}, "--min-boxes 20 is above"),
    ({"layer": "c3", "weights": "w.pth"}, "--layer"),
    ({"route": "butd", "weights": ""}, "Faster R-CNN weights file is required"),
    ({"route": "butd", "weights": "w.bin", "pre_nms_proposals": 0},
     "--pre-nms-proposals must be >= 1"),
    ({"route": "grid", "weights": "w.pth", "precision": "bf16"}, "for --route butd only"),
    ({"route": "butd", "weights": "w.bin", "precision": "fp16"}, "--precision: unknown"),
])
def test_bad_options_name_the_flag(changes, message):
    with pytest.raises(ConfigError, match=message):
        ExtractOptions(**changes).validate()


def test_synthetic_backbone_needs_no_weights():
    ExtractOptions(route="boxes", backbone="synthetic").validate()


def test_butd_route_ignores_the_backbone_flags():
    opts = ExtractOptions(route="butd", weights="w.bin", backbone="synthetic", layer="?")
    assert opts.validate().pre_nms_proposals == 6000 and opts.proposals == 300


def test_round_trip_and_unknown_keys():
    opts = ExtractOptions(route="boxes", backbone="resnet18", weights="w.pth", pool=5)
    assert ExtractOptions.from_dict(opts.to_dict()) == opts
    with pytest.raises(ConfigError, match=r"store/manifest.json: unknown key\(s\) \['colour'\]"):
        ExtractOptions.from_dict({**opts.to_dict(), "colour": 1}, "store/manifest.json")


def test_missing_weights_file_is_a_clear_error(tmp_path):
    missing = tmp_path / "nowhere" / "resnet50.pth"
    with pytest.raises(ConfigError, match=r"resnet50 weights file .*nowhere/resnet50.pth does "
                                          r"not exist; vlkit never downloads weights"):
        Extractor(ExtractOptions(weights=str(missing)))


def test_unreadable_or_mismatched_weights(tmp_path, resnet18_file):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.pth: cannot read resnet18 weights"):
        Extractor(ExtractOptions(backbone="resnet18", weights=str(junk)))
    with pytest.raises(ConfigError, match="resnet18 weights .* pass --backbone resnet18"):
        Extractor(ExtractOptions(backbone="resnet50", weights=str(resnet18_file)))
    state = torch.load(resnet18_file, weights_only=True)
    del state["layer1.0.bn1.bias"]
    torch.save(state, tmp_path / "partial.pth")
    with pytest.raises(CheckpointError, match=r"do not fit ResNet: missing \['layer1.0.bn1.bias'"):
        Extractor(ExtractOptions(backbone="resnet18", weights=str(tmp_path / "partial.pth")))


def test_detector_without_torchvision_is_a_clear_error(tmp_path):
    try:
        from torchvision.ops import nms  # noqa: F401
    except Exception:
        pass
    else:
        pytest.skip("torchvision works here; the detector tests cover the route")
    with pytest.raises(ConfigError, match=r'the detector route needs torchvision: pip install '
                                          r'"vlkit\[extract\]"'):
        Extractor(ExtractOptions(route="detector", weights=str(tmp_path / "frcnn.pth")))
