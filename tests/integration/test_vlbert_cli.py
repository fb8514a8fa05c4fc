"""VL-BERT through the CLI on the shared tiny synthetic world: pre-train (caption MLM with
visual clues, MVRC, text-only MLM on a generated corpus), then fine-tune VQA and RefCOCO-style
referring expressions and VCR from that checkpoint; `vlkit list models` shows the variant."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vlkit.cli.main import main
from vlkit.metrics.refer import read_refer_boxes
from vlkit.models.io import load_model

SMALL = ["train.progress=false", "train.precision=fp32", "train.device=cpu",
         "train.num_threads=1", "train.log_every=1", "train.warmup_steps=1",
         "train.ckpt_every=1000", "model.num_layers=1", "model.hidden_size=32",
         "model.num_heads=2", "model.intermediate_size=64", "train.batch_size=8"]


def _train(preset: str, world: Path, run: Path, *extra: str) -> dict:
    assert main(["train", preset, f"data.root={world}", f"out={run}", *SMALL, *extra]) == 0
    return json.loads((run / "final_metrics.json").read_text())


@pytest.fixture(scope="module")
def pretrained(world, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("vlbert") / "pre"
    _train("vlbert-tiny-pretrain", world, run, "train.total_steps=6", "train.val_every=6",
           "task.synth_corpus=50", "data.val_batches=1",
           "data.tasks={mlm: 1, mvrc: 1, mlm-text: 1}")
    return run


def test_pretraining_runs_every_task_and_saves_the_heads(pretrained):
    results = json.loads((pretrained / "final_metrics.json").read_text())
    rows = [json.loads(x) for x in (pretrained / "metrics.jsonl").read_text().splitlines()]
    seen = {k for row in rows if row.get("kind") == "train" for k in row if k.endswith("_loss")}
    assert seen == {"mlm_loss", "mvrc_loss", "mlm_text_loss"}
    assert set(results["val"]) == {"mlm_loss", "mlm_acc", "mvrc_loss", "mvrc_acc"}
    corpus = (pretrained / "text_corpus.txt").read_text().splitlines()
    assert len(corpus) == 50
    model = load_model(pretrained / "model")
    assert model.heads == ("mlm", "mvrc") and model.cfg.arch == "vlbert"


def test_vqa_finetunes_from_the_pretrained_model(world, pretrained, tmp_path):
    run = tmp_path / "vqa"
    results = _train("vlbert-tiny-vqa", world, run, f"train.init_from={pretrained}",
                     "train.total_steps=4", "train.val_every=4")
    assert results["val"]["num_questions"] > 0 and 0.0 <= results["test"]["accuracy"] <= 1.0
    answers = json.loads((run / "predictions" / "vqa_val.json").read_text())
    assert len(answers) == results["val"]["num_questions"]
    # VL-BERT's classifier transform starts as the pre-trained MLM head's
    ours = load_model(run / "model")
    assert ours.heads == ("vqa",)


def test_refer_finetunes_and_writes_boxes(world, pretrained, tmp_path):
    run = tmp_path / "re"
    results = _train("vlbert-tiny-re", world, run, f"train.init_from={pretrained}",
                     "train.total_steps=4", "train.val_every=4")
    assert "re_loss" in results["train"]
    boxes = read_refer_boxes(run / "predictions" / "re_val.json")
    assert len(boxes) == results["val"]["num_expressions"]


def test_list_models_shows_vlbert(capsys):
    assert main(["list", "models"]) == 0
    out = capsys.readouterr().out
    assert "vlbert-tiny" in out and "vlbert-base" in out and "vlbert-large" in out


def test_vcr_finetunes_writes_the_leaderboard_csv_and_evaluates_again(world, pretrained,
                                                                       tmp_path, capsys):
    run = tmp_path / "vcr"
    results = _train("vlbert-tiny-vcr", world, run, f"train.init_from={pretrained}",
                     "train.total_steps=3", "train.val_every=3", "train.batch_size=4",
                     "data.train_limit=8")
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert {"vcr_q2a", "vcr_qa2r", "vcr_q2ar"} <= set(next(r for r in rows
                                                           if r["kind"] == "val"))
    assert "vcr_loss" in results["train"]
    model = load_model(run / "model")
    assert model.heads == ("vcr",) and model.cfg.type_vocab_size == 3
    store, path = world / "txt" / "vcr_val", run / "predictions" / "vcr_val.csv"
    capsys.readouterr()
    assert main(["score", "vcr", "--annotations", str(store), "--predictions", str(path)]) == 0
    scored = json.loads(capsys.readouterr().out)
    for key in ("q2a", "qa2r", "q2ar"):
        assert results["val"][key] == pytest.approx(scored[key])
    assert main(["eval", str(run), f"out={tmp_path / 'ev'}"]) == 0
    again = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert again["val"] == pytest.approx(results["val"])
