"""A resumed run whose config changed says which keys changed, old -> new."""

from __future__ import annotations

import logging
from pathlib import Path

from vlkit.config import load_config
from vlkit.runs.context import _write_config, config_changes


def test_resume_with_another_config_lists_the_changed_keys(tmp_path: Path, caplog) -> None:
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "step_00000001.pt").write_bytes(b"")
    _write_config(tmp_path, load_config("uniter-tiny-vqa", ["train.lr=0.001"]))
    caplog.set_level(logging.WARNING)
    _write_config(tmp_path, load_config("uniter-tiny-vqa", ["train.lr=0.002",
                                                            "train.keep_best=vqa_acc"]))
    assert f"resuming {tmp_path} with a different config (old -> new): " \
           "train.keep_best: '' -> vqa_acc; train.lr: 0.001 -> 0.002" in caplog.text


def test_config_changes_walks_nested_keys() -> None:
    assert config_changes({"a": {"b": 1, "c": [1]}, "d": 2}, {"a": {"b": 1, "c": [2]}, "e": 3}) \
        == ["a.c: [1] -> [2]", "d: 2 -> <unset>", "e: <unset> -> 3"]
