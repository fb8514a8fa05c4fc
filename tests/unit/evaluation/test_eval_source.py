"""Which weights and config `vlkit eval` reads for each kind of source, and where it writes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from vlkit.evaluation import task_evaluation
from vlkit.evaluation.eval_run import find_source, load_config, read_run_config
from vlkit.evaluation.splits import split_stores
from vlkit.utils.errors import CheckpointError, ConfigError

CONFIG = "recipe: vqa\nout: old\nmodel: {name: uniter-tiny, img_dim: 16}\n"


def _touch(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_run_dir_uses_its_final_model(tmp_path):
    _touch(tmp_path / "config.yaml", CONFIG)
    weights = _touch(tmp_path / "model" / "model.safetensors")
    _touch(tmp_path / "model" / "config.yaml", CONFIG)
    _touch(tmp_path / "checkpoints" / "step_00000005.pt")
    src = find_source(tmp_path)
    assert (src.weights, src.config, src.out) == (weights, tmp_path / "model" / "config.yaml",
                                                  tmp_path / "eval")


def test_unfinished_run_uses_its_newest_checkpoint(tmp_path):
    _touch(tmp_path / "config.yaml", CONFIG)
    _touch(tmp_path / "checkpoints" / "step_00000005.pt")
    newest = _touch(tmp_path / "checkpoints" / "step_00000010.pt")
    src = find_source(tmp_path)
    assert (src.weights, src.config, src.out) == (newest, tmp_path / "config.yaml",
                                                  tmp_path / "eval")


def test_checkpoint_file_reads_the_run_config(tmp_path):
    ckpt = _touch(tmp_path / "run" / "checkpoints" / "step_00000003.pt")
    src = find_source(ckpt)
    assert (src.config, src.out) == (tmp_path / "run" / "config.yaml", tmp_path / "run" / "eval")


def test_model_folder_outside_a_run_writes_next_to_itself(tmp_path):
    folder = tmp_path / "exported"
    weights = _touch(folder / "model.safetensors")
    src = find_source(folder)
    assert (src.weights, src.config, src.out) == (weights, folder / "config.yaml",
                                                  folder / "eval")


def test_nothing_to_evaluate_is_a_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match="run directory"):
        find_source(tmp_path)
    with pytest.raises(CheckpointError, match="missing"):
        read_run_config(tmp_path / "config.yaml")


def test_config_takes_the_weights_token_types_and_overrides(tmp_path):
    _touch(tmp_path / "config.yaml", CONFIG)
    ckpt = _touch(tmp_path / "checkpoints" / "step_00000001.pt")
    sd = {"uniter.embeddings.token_type_embeddings.weight": torch.zeros(3, 4)}
    cfg = load_config(find_source(ckpt), ["data.val_txt=[txt/a]"], sd)
    assert cfg.model.type_vocab_size == 3 and cfg.model.img_dim == 16
    assert cfg.out == str(tmp_path / "eval") and split_stores(cfg, "val") == ["txt/a"]
    assert load_config(find_source(ckpt), ["out=elsewhere"], {}).out == "elsewhere"
    with pytest.raises(ConfigError, match="unknown split"):
        split_stores(cfg, "train")


def test_tasks_without_evaluation_are_named():
    assert hasattr(task_evaluation("vqa"), "task_eval")
    with pytest.raises(ConfigError, match="'pretrain' has no evaluation"):
        task_evaluation("pretrain")
