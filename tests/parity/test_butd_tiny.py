"""The butd route against the reference BUTD detector (../shared/fixtures/butd_frcnn, tiny
model: depth 50, widths / 16, 20 classes, 10 attributes), stage by stage through the code
users run (`load_detector`, the model's stages, `select_regions`), then the `vlkit extract`
command and the one-image API.

Continuous stages start from the reference's saved inputs so BLAS differences do not
compound (the manifest's "tolerances"); selection must match exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from butd_helpers import butd_dir, check_record, write_detectron2_pkl, write_image
from PIL import Image

from vlkit.cli.main import main
from vlkit.data.stores.open import open_store
from vlkit.extract.api import extractor_for, image_record
from vlkit.extract.butd import route
from vlkit.extract.butd.model import ButdOutputs
from vlkit.extract.butd.preprocess import preprocess
from vlkit.extract.butd.route import select_regions
from vlkit.extract.butd.weights import load_detector
from vlkit.extract.options import ExtractOptions
from vlkit.utils.errors import ConfigError

TINY_FLAGS = ["--proposals", "100", "--pre-nms-proposals", "1000"]  # the tiny reference's RPN


@pytest.fixture(scope="module")
def tiny(fixtures_dir):
    root = butd_dir(fixtures_dir) / "tiny"
    return {"dir": root, "weights": root / "state_dict.pt",
            "ref": dict(np.load(root / "hf_port_outputs.npz")),
            "butd": dict(np.load(root / "butd_caffe_style_outputs.npz")),
            "pixels": np.load(root / "image_rgb_uint8.npy")}


@pytest.fixture(scope="module")
def model(tiny):
    return load_detector(tiny["weights"])


def test_sizes_come_from_the_weights(model):
    spec = model.spec
    assert spec.blocks == (3, 4, 6, 3) and spec.stem == 8 and spec.width == 4
    assert (spec.num_classes, spec.num_attrs, spec.feat_dim) == (20, 10, 256)


def test_preprocessing(tiny):
    image, scale_yx = preprocess(tiny["pixels"])
    ref = tiny["ref"]["preprocessed_image"]
    assert image.shape == ref.shape == (1, 3, 600, 600)
    np.testing.assert_allclose(image.numpy(), ref, rtol=0, atol=1e-4)
    np.testing.assert_allclose(scale_yx, tiny["ref"]["scales_yx"][0], rtol=1e-7)


@torch.inference_mode()
def test_backbone_and_rpn(tiny, model):
    ref = tiny["ref"]
    res4 = model.backbone(torch.from_numpy(ref["preprocessed_image"]))
    assert list(res4.shape) == ref["res4_shape"].tolist()
    proposals, logits = model.proposal_generator(res4, (600, 600), 1000, 100)
    np.testing.assert_allclose(proposals.numpy(), ref["rpn_proposals"], rtol=0, atol=1e-3)
    np.testing.assert_allclose(logits.numpy(), ref["rpn_logits"], rtol=1e-5, atol=1e-5)


@torch.inference_mode()
def test_roi_head_from_saved_proposals(tiny, model):
    ref = tiny["ref"]
    res4 = model.backbone(torch.from_numpy(ref["preprocessed_image"]))
    pooled = model.roi_heads.pool(res4, torch.from_numpy(ref["rpn_proposals"]))
    np.testing.assert_allclose(pooled.numpy(), ref["pooled_features"], rtol=1e-4, atol=1e-4)
    obj, attr, deltas = model.roi_heads.box_predictor(torch.from_numpy(ref["pooled_features"]))
    np.testing.assert_allclose(obj.numpy(), ref["obj_logits"], rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(attr.numpy(), ref["attr_logits"], rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(deltas.numpy(), ref["box_deltas"], rtol=1e-5, atol=1e-6)


def saved_outputs(ref: dict) -> ButdOutputs:
    return ButdOutputs(tuple(ref["res4_shape"]), torch.from_numpy(ref["rpn_proposals"]),
                       torch.from_numpy(ref["rpn_logits"]),
                       torch.from_numpy(ref["pooled_features"]),
                       torch.from_numpy(ref["obj_logits"]), torch.from_numpy(ref["attr_logits"]),
                       torch.from_numpy(ref["box_deltas"]))


def test_selection_from_saved_logits_is_exact(tiny):
    ref, butd = tiny["ref"], tiny["butd"]
    regions = select_regions(saved_outputs(ref), tuple(ref["scales_yx"][0].tolist()),
                             ExtractOptions())
    np.testing.assert_array_equal(regions.index, butd["keep_boxes"])
    np.testing.assert_array_equal(regions.boxes, butd["boxes"])
    np.testing.assert_array_equal(regions.conf, butd["conf"])
    np.testing.assert_array_equal(regions.feat, butd["features"])
    np.testing.assert_allclose(regions.soft_labels, butd["soft_labels_bg_first"], rtol=1e-6,
                               atol=1e-7)
    probs = torch.softmax(torch.from_numpy(ref["obj_logits"]), -1).numpy()[butd["keep_boxes"]]
    np.testing.assert_array_equal(regions.obj_label, probs[:, :-1].argmax(1) + 1)
    # attributes as the reference port reports them for its own detections (same proposals)
    shared = [(det, int(np.flatnonzero(regions.index == pid)[0]))
              for det, pid in enumerate(ref["kept_ids"]) if pid in regions.index]
    assert len(shared) >= 10
    for det, row in shared:
        assert regions.attr_label[row] == ref["det_attr_ids"][det]
        np.testing.assert_allclose(regions.attr_conf[row], ref["det_attr_probs"][det],
                                   rtol=1e-5)


def test_regressed_boxes_are_the_ports_detection_boxes(tiny):
    """Not used by UNITER's selection, but offered: the class-specific regressed boxes equal
    the reference port's own detections (its max class, clipped, in raw pixels)."""
    ref = tiny["ref"]
    boxes = saved_outputs(ref).regressed_boxes()  # (R, C, 4)
    picked = boxes[torch.from_numpy(ref["kept_ids"]), torch.from_numpy(ref["det_obj_ids"])]
    raw = picked.clamp(0, 600) * torch.from_numpy(ref["scales_yx"][0][[1, 0, 1, 0]])
    np.testing.assert_allclose(raw.numpy(), ref["det_boxes"], rtol=0, atol=1e-4)


def test_region_order_conf_sorts_the_same_regions(tiny):
    ref, butd = tiny["ref"], tiny["butd"]
    scale = tuple(ref["scales_yx"][0].tolist())
    ranked = select_regions(saved_outputs(ref), scale, ExtractOptions(region_order="conf"))
    order = np.argsort(-butd["conf"], kind="stable")
    np.testing.assert_array_equal(ranked.index, butd["keep_boxes"][order])
    np.testing.assert_array_equal(ranked.feat, butd["features"][order])
    assert (np.diff(ranked.conf) <= 0).all()
    few = select_regions(saved_outputs(ref), scale, ExtractOptions(min_boxes=36, max_boxes=36))
    np.testing.assert_array_equal(few.index, butd["keep_boxes"][order][:36])


def test_extract_command_stores_the_reference_regions(tiny, fixtures_dir, tmp_path, capsys):
    images = tmp_path / "images"
    write_image(fixtures_dir, images)
    Image.new("RGB", (12, 40)).save(images / "speck.png")  # too small: skipped and listed
    out = tmp_path / "store"
    assert main(["extract", "--route", "butd", "--weights", str(tiny["weights"]), "--images",
                 str(images), "--out", str(out), *TINY_FLAGS, "--no-progress"]) == 0
    assert "speck.png: image is 12x40 pixels" in capsys.readouterr().out
    store = open_store(out)
    assert store.ids() == ["astronaut"]
    rec = store.get("astronaut")
    check_record(rec, tiny["butd"])
    again = image_record(images / "astronaut.png", extractor_for(out))  # vlkit predict's path
    np.testing.assert_array_equal(again.feat, rec.feat)
    np.testing.assert_array_equal(again.boxes, rec.boxes)
    for name in ("conf", "obj_label", "attr_label", "attr_conf"):
        np.testing.assert_array_equal(again.extras[name], rec.extras[name])


def test_bf16_keeps_the_regions_and_moves_features_little(tiny, monkeypatch):
    opts = ExtractOptions(route="butd", weights=str(tiny["weights"]), proposals=100,
                          pre_nms_proposals=1000, precision="bf16")
    if not route.native_bf16():
        pytest.skip("this CPU has no native bf16 (AVX512-BF16 or AMX)")
    regions = route.ButdExtractor(opts).regions(tiny["pixels"])
    butd = tiny["butd"]
    np.testing.assert_array_equal(regions.index, butd["keep_boxes"])  # fp32 backbone and RPN
    np.testing.assert_allclose(regions.boxes, butd["boxes"], rtol=0, atol=1e-3)
    np.testing.assert_allclose(regions.conf, butd["conf"], rtol=0, atol=2e-3)
    gap = np.linalg.norm(regions.feat - butd["features"]) / np.linalg.norm(butd["features"])
    assert gap < 0.01  # measured 0.18%
    monkeypatch.setattr(route, "native_bf16", lambda: False)
    with pytest.raises(ConfigError, match="--precision bf16: this CPU has no native bf16"):
        route.ButdExtractor(opts)


def test_detectron2_pickle_loads_the_same_model(tiny, model, tmp_path):
    state = torch.load(tiny["weights"], weights_only=True)
    other = load_detector(write_detectron2_pkl(state, tmp_path / "tiny.pkl"))
    mine = model.state_dict()
    for key, value in other.state_dict().items():
        torch.testing.assert_close(value, mine[key], rtol=0, atol=0)
