"""NLVR2 (each UNITER variant) and SNLI-VE fine-tuning through `vlkit train` on a tiny world:
official prediction files, metrics that re-score from those files, self-describing models."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from vlkit.cli.main import main
from vlkit.data.stores.native_txt import NativeTextStore
from vlkit.metrics.classification import classification_metrics, read_class_predictions
from vlkit.metrics.nlvr2 import nlvr2_metrics, read_nlvr2_predictions
from vlkit.models.io import load_model

TINY = ["train.val_every=2", "train.progress=false", "train.precision=fp32", "train.log_every=1",
        "model.num_layers=1", "model.hidden_size=32", "model.num_heads=2",
        "model.intermediate_size=64", "train.batch_size=4", "train.total_steps=3",
        "train.warmup_steps=1", "train.num_threads=1", "data.train_limit=16"]


def _train(preset: str, world: Path, run: Path, *extra: str) -> dict:
    assert main(["train", preset, f"data.root={world}", f"out={run}", *TINY, *extra]) == 0
    return json.loads((run / "final_metrics.json").read_text())


@pytest.mark.parametrize("variant", ["paired", "triplet", "paired-attn"])
def test_nlvr2_variant_trains_and_writes_official_predictions(world, tmp_path, variant):
    run = tmp_path / variant
    results = _train("uniter-tiny-nlvr2", world, run, f"model.nlvr2_variant={variant}")
    assert results["variant"] == variant
    for split in ("val", "test"):
        store = NativeTextStore(world / "txt" / f"nlvr2_{split}")
        path = run / "predictions" / f"nlvr2_{split}.csv"
        lines = path.read_text().splitlines()
        assert all(re.fullmatch(r"[\w-]+,(True|False)", line) for line in lines), lines[:3]
        assert sorted(line.split(",")[0] for line in lines) == sorted(store.ids())
        labels = {rid: bool(store.get(rid)["label"]) for rid in store.ids()}
        rescored = nlvr2_metrics(labels, read_nlvr2_predictions(path))
        assert set(results[split]) == {"accuracy", "consistency", "num_examples"}
        assert results[split]["accuracy"] == pytest.approx(rescored["accuracy"])
        assert results[split]["consistency"] == pytest.approx(rescored["consistency"])
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if r["kind"] == "train"] == [1, 2, 3]
    assert {"nlvr2_acc", "nlvr2_consistency"} <= set(next(r for r in rows if r["kind"] == "val"))
    saved = yaml.safe_load((run / "model" / "config.yaml").read_text())["model"]
    assert saved["nlvr2_variant"] == variant and saved["type_vocab_size"] == 3
    model = load_model(run / "model")
    assert model.uniter.embeddings.token_type_embeddings.num_embeddings == 3
    assert hasattr(model, "attn_pool") == (variant == "paired-attn")


def test_snli_ve_trains_and_writes_class_name_predictions(world, tmp_path):
    run = tmp_path / "ve"
    results = _train("uniter-tiny-ve", world, run)
    names = ("contradiction", "entailment", "neutral")
    for split in ("val", "test"):
        store = NativeTextStore(world / "txt" / f"snli_ve_{split}")
        path = run / "predictions" / f"ve_{split}.csv"
        lines = path.read_text().splitlines()
        assert lines[0] == "id,label"
        assert {line.split(",")[1] for line in lines[1:]} <= set(names)
        predicted = read_class_predictions(path)
        assert sorted(predicted) == sorted(store.ids())
        ids = store.ids()
        rescored = classification_metrics([predicted[i] for i in ids],
                                          [store.get(i)["label"] for i in ids])
        assert results[split]["accuracy"] == pytest.approx(rescored["accuracy"])
        assert results[split]["confusion_matrix"] == rescored["confusion_matrix"]
        assert set(results[split]["per_class_accuracy"]) == set(names)
    model = load_model(run / "model")
    assert model.vqa_output[3].out_features == 3


def test_grounded_start_chain_mlm_then_region_itm_then_triplet(world, tmp_path):
    """docs/tasks.md's chain: MLM pre-training -> uniter-tiny-pretrain-regions -> NLVR2."""
    pre = tmp_path / "pre"
    _train("uniter-tiny-pretrain", world, pre, "data.tasks={mlm: 1}", "data.val_batches=1")
    regions = _train("uniter-tiny-pretrain-regions", world, tmp_path / "regions",
                     f"train.init_from={pre}", "data.val_batches=1")
    assert {"itm_loss", "itm_acc", "wra_loss"} <= set(regions["val"])
    rows = [json.loads(line) for line in
            (tmp_path / "regions" / "metrics.jsonl").read_text().splitlines()]
    train_rows = [r for r in rows if r["kind"] == "train"]
    assert train_rows and all("itm_loss" in r and "mlm_loss" not in r for r in train_rows)
    result = _train("uniter-tiny-nlvr2", world, tmp_path / "nlvr2",
                    f"train.init_from={tmp_path / 'regions'}", "model.nlvr2_variant=triplet")
    assert result["variant"] == "triplet" and 0 <= result["val"]["accuracy"] <= 1
