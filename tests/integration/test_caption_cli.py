"""VLP captioning through `vlkit train` on the tiny synthetic world: masked-token training with
both masks, greedy + beam predictions in COCO formats, then SCST from that checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vlkit.cli.main import main
from vlkit.data.stores.native_txt import NativeTextStore
from vlkit.metrics.caption import read_caption_predictions, read_caption_references
from vlkit.metrics.cider import corpus_cider

SMALL = ["train.progress=false", "train.precision=fp32", "train.device=cpu",
         "train.num_threads=1", "train.log_every=1", "train.warmup_steps=1",
         "train.val_every=2", "train.ckpt_every=1000", "model.num_layers=1",
         "model.hidden_size=32", "model.num_heads=2", "model.intermediate_size=64",
         "task.coco_metrics=false", "task.max_len=8", "task.val_images=3"]


def _train(preset: str, world: Path, run: Path, *extra: str) -> dict:
    assert main(["train", preset, f"data.root={world}", f"out={run}", *SMALL, *extra]) == 0
    return json.loads((run / "final_metrics.json").read_text())


def _lines(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def caption_run(world, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("caption") / "run"
    _train("vlp-tiny-caption", world, run, "train.total_steps=3", "train.batch_size=8",
           "task.s2s_prob=0.5", "task.bi_prob=0.5", "task.beam_size=2")
    return run


def test_caption_training_logs_both_modes_and_validates(caption_run):
    lines = _lines(caption_run)
    train = [x for x in lines if x["kind"] == "train"]
    assert len(train) == 3 and all(x["vlp_loss"] > 0 for x in train)
    assert any("s2s_loss" in x for x in train) and any("bi_loss" in x for x in train)
    assert [x["step"] for x in lines if x["kind"] == "val" and "cider" in x] == [2, 3]


def test_caption_predictions_in_coco_formats(world, caption_run):
    results = json.loads((caption_run / "final_metrics.json").read_text())
    for split in ("val", "test"):
        images = {r["img_id"] for r in NativeTextStore(world / "txt" / f"caption_{split}")}
        assert results[split]["num_images"] == len(images)
        refs = read_caption_references(
            caption_run / "predictions" / f"caption_{split}_references.json")
        assert set(refs) == images and all(len(c) == 3 for c in refs.values())
        for name in ("greedy", "beam"):
            preds = read_caption_predictions(
                caption_run / "predictions" / f"caption_{split}_{name}.json")
            assert set(preds) == images
            assert all(len(c.split()) <= 8 for c in preds.values())
            # The figure `vlkit score caption` gives as CIDEr for these two files.
            assert results[split][name]["cider"] == pytest.approx(corpus_cider(preds, refs))


def test_scst_from_the_caption_checkpoint(world, caption_run, tmp_path):
    results = _train("vlp-tiny-scst", world, tmp_path / "scst", "train.total_steps=2",
                     "train.batch_size=3", "task.scst_samples=2", "task.beam_size=1",
                     f"train.init_from={caption_run}")
    train = results["train"]
    assert {"scst_loss", "reward_sample", "reward_greedy"} <= set(train)
    assert train["reward_sample"] >= 0.0 and train["reward_greedy"] >= 0.0
    assert set(results["val"]) == {"num_images", "greedy"}


def test_predict_caption_equals_the_evaluation_captions(world, caption_run, capsys):
    preds = {name: read_caption_predictions(
        caption_run / "predictions" / f"caption_val_{name}.json") for name in ("greedy", "beam")}
    img_ids = sorted(preds["greedy"])[:3]
    ids = [arg for img in img_ids for arg in ("--img-id", img)]
    for name, beam in (("greedy", "1"), ("beam", "2")):
        capsys.readouterr()
        assert main(["predict", "caption", "--checkpoint", str(caption_run), *ids,
                     "--beam", beam, "--img-store", str(world / "img")]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["beam_size"] == int(beam)
        assert {c["img_id"]: c["caption"] for c in out["captions"]} == \
            {i: preds[name][i] for i in img_ids}
    assert main(["predict", "caption", "--checkpoint", str(caption_run), "--img-id",
                 img_ids[0], "--beam", "0"]) == 2
    assert "--beam must be >= 1" in capsys.readouterr().err


def test_predict_caption_of_an_image_file(world, caption_run, tmp_path, capsys):
    """A world PNG (its regions pooled from the store's boxes) is captioned as its id is."""
    import numpy as np
    from PIL import Image

    from vlkit.data.synthetic.render import render_scene
    from vlkit.data.synthetic.scene import sample_scene

    img_id = sorted(read_caption_predictions(
        caption_run / "predictions" / "caption_val_greedy.json"))[0]
    rng = np.random.default_rng([0, 0, int(img_id.split("-")[1])])  # as the world draws it
    png = tmp_path / f"{img_id}.png"
    Image.fromarray(render_scene(sample_scene(rng), rng)).save(png)
    captions = []
    for given in (["--img-id", img_id], ["--image", str(png), "--extract-from", str(world)]):
        capsys.readouterr()
        assert main(["predict", "caption", "--checkpoint", str(caption_run), "--beam", "1",
                     *given]) == 0
        captions.append(json.loads(capsys.readouterr().out)["captions"][0])
    assert captions[0]["caption"] == captions[1]["caption"]
    assert captions[1]["img_id"] == img_id and captions[1]["images"][0]["width"] == 96
