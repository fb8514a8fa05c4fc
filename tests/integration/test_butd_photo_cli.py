"""From a photo to answers with the BUTD route (the fixture's tiny detector): `vlkit extract
--route butd --format uniter` writes a UNITER img_db holding the native store's regions, and
`vlkit predict --image PHOTO --extractor butd --weights FILE` answers with a model trained on
features of the detector's size."""

from __future__ import annotations

import json

import numpy as np
import pytest
from butd_helpers import butd_dir, write_image

from vlkit.cli.main import main
from vlkit.data.stores.native_img import NativeImageStore
from vlkit.data.stores.open import open_store
from vlkit.data.synthetic.world import build_world

TINY_RPN = ["--proposals", "100", "--pre-nms-proposals", "1000"]  # the tiny reference's RPN


@pytest.fixture(scope="module")
def detector(fixtures_dir):
    return butd_dir(fixtures_dir) / "tiny" / "state_dict.pt"


def test_butd_uniter_img_db_holds_the_native_regions(detector, fixtures_dir, tmp_path):
    images = tmp_path / "images"
    write_image(fixtures_dir, images)
    stores = {}
    for fmt in ("native", "uniter"):
        stores[fmt] = tmp_path / fmt
        assert main(["extract", "--route", "butd", "--weights", str(detector), "--images",
                     str(images), "--out", str(stores[fmt]), "--format", fmt, *TINY_RPN,
                     "--no-progress"]) == 0
    native = NativeImageStore(stores["native"]).get("astronaut")
    uniter = open_store(stores["uniter"]).get("astronaut.npz")
    np.testing.assert_array_equal(uniter.feat, native.feat.astype(np.float32))
    np.testing.assert_array_equal(uniter.soft_labels, native.soft_labels.astype(np.float32))
    np.testing.assert_array_equal(uniter.extras["conf"],
                                  native.extras["conf"].astype(np.float16).astype(np.float32))
    np.testing.assert_allclose(uniter.boxes, native.boxes, atol=1e-3)  # float16 norm_bb
    assert uniter.soft_labels.shape[1] == 21 and uniter.num_boxes == native.num_boxes
    nbb = json.loads((stores["uniter"] / "nbb_th0.2_max100_min10.json").read_text())
    assert nbb == {"astronaut.npz": native.num_boxes}


def test_predict_on_a_photo_through_the_butd_extractor(detector, fixtures_dir, tmp_path,
                                                       tiny, capsys):
    world = tmp_path / "world"
    build_world(world, num_images=40, seed=0, feat_dim=256)  # the tiny detector's feature size
    run = tmp_path / "run"
    assert main(["train", "uniter-tiny-vqa", f"data.root={world}", f"out={run}", *tiny,
                 "model.img_dim=256"]) == 0
    photo = write_image(fixtures_dir, tmp_path / "photos")
    capsys.readouterr()
    assert main(["predict", "vqa", "--checkpoint", str(run), "--question",
                 "what color is the circle ?", "--image", str(photo), "--extractor", "butd",
                 "--weights", str(detector)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["answers"]) == 5 and out["img_ids"] == ["astronaut"]
    regions = out["images"][0]["regions"]
    assert 10 <= len(regions) <= 100 and out["images"][0]["width"] == 512
    store = tmp_path / "store"
    assert main(["extract", "--route", "butd", "--weights", str(detector), "--images",
                 str(photo.parent), "--out", str(store), "--no-progress"]) == 0
    stored = NativeImageStore(store).get("astronaut")
    assert len(regions) == stored.num_boxes  # the same default extraction as vlkit extract
    np.testing.assert_allclose([r["box"] for r in regions], stored.boxes[:, :4], atol=1e-5)
    assert main(["predict", "vqa", "--checkpoint", str(run), "--question", "x", "--image",
                 str(photo), "--extractor", "butd"]) == 2
    assert "--weights" in capsys.readouterr().err
    other = tmp_path / "other"  # a model of another feature size: a message, no traceback
    build_world(tmp_path / "w128", num_images=40, seed=0, feat_dim=128)
    assert main(["train", "uniter-tiny-vqa", f"data.root={tmp_path / 'w128'}", f"out={other}",
                 *tiny, "model.img_dim=128"]) == 0
    capsys.readouterr()
    assert main(["predict", "vqa", "--checkpoint", str(other), "--question", "x", "--image",
                 str(photo), "--extractor", "butd", "--weights", str(detector)]) == 2
    assert "gives 256-d region features but the model reads 128-d" in capsys.readouterr().err
