"""Fixture helpers of the butd route tests: the reference's weights (tiny as saved, full
regenerated from `seeded_weights.py`), written as either released file format, and its image."""

from __future__ import annotations

import importlib.util
import json
import pickle
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ANCHORS_KEY = "proposal_generator.anchor_generator.cell_anchors.0"


def butd_dir(fixtures_dir: Path) -> Path:
    return fixtures_dir / "butd_frcnn"


def seeded_full_state(fixtures_dir: Path) -> dict[str, torch.Tensor]:
    """The full model's state dict regenerated from its key list with the fixture's own
    generator (seeded_weights.py), anchors from the manifest."""
    root = butd_dir(fixtures_dir)
    spec = importlib.util.spec_from_file_location("butd_seeded_weights",
                                                  root / "seeded_weights.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    keys = json.loads((root / "keys_full.json").read_text())["keys"]
    anchors = torch.tensor(json.loads((root / "manifest.json").read_text())["anchors"])
    state = {k: module.gen_tensor(k, shape) for k, shape in keys.items()}
    state[ANCHORS_KEY] = anchors
    return state


def digest(state: dict[str, torch.Tensor]) -> dict[str, list[float]]:
    return {k: [float(v.double().sum()), float(v.double().abs().sum())] for k, v in state.items()}


def write_bin(state: dict[str, torch.Tensor], path: Path) -> Path:
    """As the Hugging Face `pytorch_model.bin`: a torch.save'd flat state dict."""
    torch.save(state, path)
    return path


def write_detectron2_pkl(state: dict[str, torch.Tensor], path: Path) -> Path:
    """As py-bottom-up-attention's `faster_rcnn_from_caffe*.pkl`: {"model": {name: ndarray}},
    without num_batches_tracked (nor the anchors buffer)."""
    model = {k: v.numpy() for k, v in state.items()
             if not k.endswith("num_batches_tracked") and k != ANCHORS_KEY}
    with open(path, "wb") as handle:
        pickle.dump({"model": model, "__author__": "test"}, handle, protocol=2)
    return path


def write_image(fixtures_dir: Path, folder: Path, name: str = "astronaut") -> Path:
    """The reference image (tiny and full share it) as a lossless PNG in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    pixels = np.load(butd_dir(fixtures_dir) / "tiny" / "image_rgb_uint8.npy")
    path = folder / f"{name}.png"
    Image.fromarray(pixels).save(path)
    return path


def check_record(rec, butd: dict) -> None:
    """A stored record holds the reference's regions: same set and order, boxes, confidences,
    soft labels (float16 in the store) and features to float16 precision."""
    n = len(butd["keep_boxes"])
    assert rec.feat.shape == (n, butd["features"].shape[1]) and rec.boxes.shape == (n, 7)
    np.testing.assert_allclose(rec.extras["conf"], butd["conf"], rtol=1e-5)
    np.testing.assert_allclose(rec.boxes, butd["img_pos_feat_7d"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(rec.soft_labels.astype(np.float32), butd["soft_labels_bg_first"],
                               rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(rec.feat.astype(np.float32), butd["features"], rtol=2e-3,
                               atol=1e-3)
    assert rec.soft_labels.shape[1] == butd["soft_labels_bg_first"].shape[1]
