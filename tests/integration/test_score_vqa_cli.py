"""`vlkit score vqa` on a tiny trained run's own predictions: with the run's vqa text store as
--annotations, and with the official files `vlkit data export vqa` writes from it; both give
`vlkit eval`'s official figures, which eval also writes to metrics.json per type."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vlkit.cli.main import main

TINY = ["train.progress=false", "train.precision=fp32", "train.device=cpu",
        "train.num_threads=1", "train.log_every=1", "train.warmup_steps=1",
        "train.val_every=100", "train.ckpt_every=1000", "model.num_layers=1",
        "model.hidden_size=32", "model.num_heads=2", "model.intermediate_size=64",
        "train.batch_size=4", "train.total_steps=3", "data.train_limit=16"]


def _printed(capsys: pytest.CaptureFixture, argv: list[str]) -> dict:
    capsys.readouterr()
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_score_vqa_of_a_store_equals_eval_and_the_exported_official_files(
        world: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run = tmp_path / "vqa"
    assert main(["train", "uniter-tiny-vqa", f"data.root={world}", f"out={run}", *TINY]) == 0
    evaluated = _printed(capsys, ["eval", str(run), "--splits", "test"])["test"]
    official = evaluated["official"]
    # Synthetic annotators all agree, so the official figure is the soft accuracy in percent.
    assert official["overall"] == pytest.approx(100 * evaluated["accuracy"], abs=0.01)
    assert set(official["perAnswerType"]) == {"yes/no", "number", "other"}
    assert "how many" in official["perQuestionType"]

    store = world / "txt" / "vqa_test"
    preds = run / "predictions" / "vqa_test.json"
    from_store = _printed(capsys, ["score", "vqa", "--annotations", str(store),
                                   "--predictions", str(preds)])
    assert from_store == official

    q, a = tmp_path / "q.json", tmp_path / "a.json"
    assert main(["data", "export", "vqa", str(store), "--questions", str(q),
                 "--annotations", str(a)]) == 0
    from_files = _printed(capsys, ["score", "vqa", "--questions", str(q), "--annotations",
                                   str(a), "--predictions", str(preds), "--require-all"])
    assert from_files == official
    assert json.loads(q.read_text())["task_type"] == "Open-Ended"


def test_score_vqa_with_an_annotations_file_still_needs_the_questions(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"annotations": []}')
    (tmp_path / "r.json").write_text("[]")
    assert main(["score", "vqa", "--annotations", str(tmp_path / "a.json"),
                 "--predictions", str(tmp_path / "r.json")]) == 2
