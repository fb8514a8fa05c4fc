"""Retrieval (`recipe: itm`) and referring expressions (`recipe: re`) through `vlkit train`
on a tiny synthetic world: predictions files, metric keys, zero-shot evaluation, sharded
scoring under torchrun, detected-box evaluation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from vlkit.cli.main import main
from vlkit.data.records import ImageRecord
from vlkit.data.stores.native_img import NativeImageStore, NativeImageStoreWriter
from vlkit.data.stores.native_txt import NativeTextStore
from vlkit.metrics.refer import read_refer_boxes, refer_accuracy
from vlkit.metrics.retrieval import read_rankings, recall_from_rankings
from vlkit.models.config import ModelConfig
from vlkit.models.io import load_model, save_model
from vlkit.models.uniter import PRETRAIN_HEADS, Uniter

SMALL = ["train.progress=false", "train.precision=fp32", "train.device=cpu",
         "train.num_threads=1", "train.log_every=1", "train.warmup_steps=1",
         "train.val_every=2", "train.ckpt_every=1000", "model.num_layers=1",
         "model.hidden_size=32", "model.num_heads=2", "model.intermediate_size=64"]
RECALLS = {"txt_r1", "txt_r5", "txt_r10", "txt_r_mean", "img_r1", "img_r5", "img_r10",
           "img_r_mean", "r_mean"}


def _train(preset: str, world: Path, run: Path, *extra: str) -> dict:
    code = main(["train", preset, f"data.root={world}", f"out={run}", *SMALL, *extra])
    assert code == 0
    return json.loads((run / "final_metrics.json").read_text())


def _txt2img(world: Path, split: str) -> dict[str, str]:
    store = NativeTextStore(world / "txt" / f"caption_{split}")
    return {rid: store.get(rid)["img_id"] for rid in store.ids()}


@pytest.fixture(scope="module")
def itm_run(world, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("itm") / "run"
    _train("uniter-tiny-itm", world, run, "train.total_steps=3", "train.batch_size=4",
           "task.neg_size=2", "task.eval_batch_size=7")
    return run


def test_itm_writes_rankings_matching_its_metrics(world, itm_run):
    results = json.loads((itm_run / "final_metrics.json").read_text())
    assert results["zero_shot"] is False and "itm_rank_loss" in results["train"]
    for split in ("val", "test"):
        assert RECALLS <= set(results[split])
        rankings = read_rankings(itm_run / "predictions" / f"itm_{split}.json")
        truth = _txt2img(world, split)
        assert set(rankings["txt2img"]) == set(truth)
        assert set(rankings["img2txt"]) == set(truth.values())
        again = recall_from_rankings(rankings, truth)
        for key in RECALLS:
            assert again[key] == pytest.approx(results[split][key], abs=1e-6), key
    val_rows = [json.loads(x) for x in (itm_run / "metrics.jsonl").read_text().splitlines()]
    assert any(row["kind"] == "val" and "r_mean" in row for row in val_rows)


def test_itm_zero_shot_of_a_finetuned_run_reproduces_its_scores(world, itm_run, tmp_path):
    results = _train("uniter-tiny-itm", world, tmp_path / "zs",
                     f"train.init_from={itm_run}", "train.total_steps=0")
    assert results["zero_shot"] is True and results["train"] == {}
    before = json.loads((itm_run / "final_metrics.json").read_text())
    for key in RECALLS:
        assert results["val"][key] == pytest.approx(before["val"][key], abs=1e-6)
    a = read_rankings(itm_run / "predictions" / "itm_val.json")
    b = read_rankings(tmp_path / "zs" / "predictions" / "itm_val.json")
    assert a["txt2img"].keys() == b["txt2img"].keys()
    for tid, ranked in a["txt2img"].items():
        assert [x[0] for x in ranked] == [x[0] for x in b["txt2img"][tid]]


def test_itm_zero_shot_from_a_pretrained_checkpoint_uses_the_itm_head(world, tmp_path):
    cfg = ModelConfig(vocab_size=84, hidden_size=32, num_layers=1, num_heads=2,
                      intermediate_size=64, img_dim=256, img_label_dim=7,
                      max_position_embeddings=128)
    save_model(Uniter(cfg, heads=PRETRAIN_HEADS), tmp_path / "pre", cfg)
    results = _train("uniter-tiny-itm", world, tmp_path / "zs",
                     f"train.init_from={tmp_path / 'pre'}", "train.total_steps=0")
    assert results["zero_shot"] is True and RECALLS <= set(results["val"])
    model = load_model(tmp_path / "zs" / "model")
    w = model.itm_output.weight
    assert torch.allclose(model.rank_output.weight[0], w[1] - w[0])


def test_itm_hard_negatives_train(world, tmp_path):
    results = _train("uniter-tiny-itm-hn", world, tmp_path / "hn", "train.total_steps=2",
                     "train.batch_size=2", "task.neg_size=4", "task.hard_neg_size=2")
    assert "itm_rank_loss" in results["train"] and RECALLS <= set(results["val"])


def test_itm_scoring_sharded_over_two_ranks_equals_one_process(world, itm_run, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    args = ["vlkit", "train", "uniter-tiny-itm", f"data.root={world}",
            f"train.init_from={itm_run}", "train.total_steps=0", *SMALL]
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           "--nproc_per_node", "2", "-m", *args, f"out={tmp_path / 'ddp'}"],
                          capture_output=True, text=True, env=env, timeout=240)
    assert done.returncode == 0, done.stderr[-4000:]
    one = read_rankings(itm_run / "predictions" / "itm_test.json")
    two = read_rankings(tmp_path / "ddp" / "predictions" / "itm_test.json")
    for side in ("txt2img", "img2txt"):
        assert one[side].keys() == two[side].keys()
        for key in one[side]:
            assert [e[0] for e in one[side][key]] == [e[0] for e in two[side][key]]
            assert np.allclose([e[1] for e in one[side][key]],
                               [e[1] for e in two[side][key]], atol=1e-5)


def _accuracy_from_files(world: Path, predictions: Path, split: str) -> float:
    store = NativeTextStore(world / "txt" / f"refer_{split}")
    boxes = read_refer_boxes(predictions)
    assert set(boxes) == set(store.ids())
    ids = store.ids()
    return refer_accuracy([boxes[i] for i in ids],
                          [store.get(i)["target_box"] for i in ids])["accuracy"]


@pytest.fixture(scope="module")
def re_run(world, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("re") / "run"
    _train("uniter-tiny-re", world, run, "train.total_steps=3", "train.batch_size=8")
    return run


def test_re_predictions_and_metrics(world, re_run):
    results = json.loads((re_run / "final_metrics.json").read_text())
    assert "re_loss" in results["train"] and results["zero_shot"] is False
    for split in ("val", "test"):
        assert {"accuracy", "mean_iou", "num_expressions"} <= set(results[split])
        path = re_run / "predictions" / f"re_{split}.json"
        records = json.loads(path.read_text())
        assert all(set(r) == {"id", "box"} and len(r["box"]) == 4 for r in records)
        assert _accuracy_from_files(world, path, split) == pytest.approx(
            results[split]["accuracy"])


def test_re_zero_shot_reproduces_the_run(world, re_run, tmp_path):
    results = _train("uniter-tiny-re", world, tmp_path / "zs", f"train.init_from={re_run}",
                     "train.total_steps=0")
    before = json.loads((re_run / "final_metrics.json").read_text())
    assert results["zero_shot"] is True
    assert results["val"]["accuracy"] == before["val"]["accuracy"]
    assert json.loads((tmp_path / "zs" / "predictions" / "re_val.json").read_text()) == \
        json.loads((re_run / "predictions" / "re_val.json").read_text())


def _detected_store(world: Path, out: Path) -> set[tuple[float, ...]]:
    """A 'detector' store: every region's box jittered, plus one random region per image."""
    src = NativeImageStore(world / "img")
    rng = np.random.default_rng(0)
    boxes_seen = set()
    with NativeImageStoreWriter(out) as writer:
        for img_id in src.ids():
            rec = src.get(img_id)
            boxes = np.asarray(rec.boxes, dtype=np.float32).copy()
            boxes[:, :4] = np.clip(boxes[:, :4] + rng.normal(0, 0.01, (len(boxes), 4)), 0, 1)
            extra = np.array([[0.0, 0.0, 0.3, 0.3, 0.3, 0.3, 0.09]], dtype=np.float32)
            feat = np.concatenate([np.asarray(rec.feat, np.float32),
                                   rng.normal(size=(1, rec.feat.shape[1]))]).astype(np.float32)
            boxes = np.concatenate([boxes, extra])
            writer.add(ImageRecord(id=img_id, feat=feat, boxes=boxes, soft_labels=None))
            boxes_seen |= {tuple(np.round(b[:4].astype(np.float64), 4)) for b in boxes}
    return boxes_seen


def test_re_evaluates_on_detected_boxes_by_iou(world, re_run, tmp_path):
    seen = _detected_store(world, tmp_path / "det")
    results = _train("uniter-tiny-re", world, tmp_path / "det_run", f"train.init_from={re_run}",
                     "train.total_steps=0", f"data.val_img=[{tmp_path / 'det'}]")
    path = tmp_path / "det_run" / "predictions" / "re_val.json"
    assert _accuracy_from_files(world, path, "val") == pytest.approx(
        results["val"]["accuracy"])
    picked = {tuple(np.round(np.array(r["box"]), 4)) for r in json.loads(path.read_text())}
    assert picked <= seen  # every predicted box is one of the detector's boxes
