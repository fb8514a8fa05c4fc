"""`train.keep_best` through `vlkit train`: RUN/model/ holds the best validation's weights
(evaluating it gives that validation's figure) and final_metrics.json names its step."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from vlkit.cli.main import main
from vlkit.models.io import read_state_dict
from vlkit.train.writers import read_metrics

TINY = ["train.progress=false", "train.precision=fp32", "train.device=cpu",
        "train.num_threads=1", "train.log_every=1", "train.warmup_steps=1",
        "train.val_every=1", "train.ckpt_every=1000", "model.num_layers=1",
        "model.hidden_size=32", "model.num_heads=2", "model.intermediate_size=64",
        "train.batch_size=8", "train.total_steps=6", "data.train_limit=32", "train.lr=5e-3"]


def test_the_model_folder_holds_the_best_validation(world: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    run = tmp_path / "vqa"
    assert main(["train", "uniter-tiny-vqa", f"data.root={world}", f"out={run}", *TINY,
                 "train.keep_best=vqa_acc"]) == 0
    best = json.loads((run / "final_metrics.json").read_text())["train"]["best"]
    vals = {row["step"]: row["vqa_acc"] for row in read_metrics(run / "metrics.jsonl")
            if row["kind"] == "val"}
    assert best["value"] == max(vals.values()) and vals[best["step"]] == best["value"]
    # Ties keep the earlier step, so the model is not the last step's (a real difference).
    assert best["step"] < 6
    saved = read_state_dict(run / "model" / "model.safetensors")
    last = torch.load(run / "checkpoints" / "step_00000006.pt", weights_only=True)["model"]
    kept = torch.load(run / "checkpoints" / "best_model.pt", weights_only=True)
    assert all(torch.equal(v, kept[k]) for k, v in saved.items())
    assert not all(torch.equal(v, last[k]) for k, v in saved.items())
    capsys.readouterr()
    assert main(["eval", str(run / "model"), f"out={tmp_path / 'ev'}", "--splits", "val"]) == 0
    evaluated = json.loads((tmp_path / "ev" / "metrics.json").read_text())["val"]
    assert evaluated["accuracy"] == pytest.approx(best["value"], abs=1e-9)


def test_re_running_a_finished_run_keeps_its_figures(world: Path, tmp_path: Path) -> None:
    run = tmp_path / "vqa"
    argv = ["train", "uniter-tiny-vqa", f"data.root={world}", f"out={run}", *TINY]
    assert main(argv) == 0
    first = json.loads((run / "final_metrics.json").read_text())
    assert first["train"]["machine"]["precision"] == "fp32"
    assert first["train"]["machine"]["threads"] == 1 and first["train"]["machine"]["cpu"]
    assert main(argv) == 0  # nothing left to train: the same figures, not empty ones
    again = json.loads((run / "final_metrics.json").read_text())
    assert again["train"] == first["train"] and "vqa_loss" in again["train"]
    assert again == first
