"""`vlkit quickstart` end to end at toy size: every phase runs and the summary is written."""

from __future__ import annotations

import json
import subprocess
import sys

TINY = ["model.num_layers=1", "model.hidden_size=32", "model.num_heads=2",
        "model.intermediate_size=64", "train.batch_size=8", "data.val_batches=1",
        "train.num_threads=1", "train.progress=false"]


def test_quickstart_runs_every_phase_and_resumes(tmp_path):
    out = tmp_path / "qs"
    cmd = [sys.executable, "-m", "vlkit", "quickstart", "--out", str(out), "--images", "30",
           "--pretrain-steps", "4", "--finetune-steps", "3", "--vqa-questions", "40", *TINY]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "gain from pre-training" in run.stdout
    final = json.loads((out / "final_metrics.json").read_text())
    assert set(final["vqa"]) == {"pretrained", "scratch"}
    assert all(0.0 <= v <= 1.0 for v in final["vqa"].values())
    assert final["num_train_questions"] == 40
    assert any(k.endswith("loss") for k in final["pretrain"]["train"])
    assert (out / "comparison.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for phase in ("pretrain", "vqa-pretrained", "vqa-scratch"):
        assert (out / phase / "model" / "model.safetensors").is_file()
    answers = json.loads((out / "vqa-scratch" / "predictions" / "vqa_test.json").read_text())
    assert answers and set(answers[0]) == {"question_id", "answer"}
    # A second run reuses the world and every finished phase.
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "reusing the synthetic world" in again.stderr
    # ... and reports the first run's figures: training values, timings, machine.
    assert json.loads((out / "final_metrics.json").read_text()) == final
    assert final["machine"]["pretrain"]["precision"] in ("fp32", "bf16")
    assert final["machine"]["pretrain"]["threads"] == 1
