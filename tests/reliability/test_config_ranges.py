"""Config values that make no sense are refused at load, naming the key, before anything is
written; every numeric field of every component has its range."""

from __future__ import annotations

import dataclasses

import pytest

from vlkit.cli.main import main
from vlkit.config import RunConfig, load_config, preset_names
from vlkit.configtools import field_hints


@pytest.mark.parametrize(("override", "message"), [
    ("train.ckpt_every=0", "train.ckpt_every must be >= 1, got 0"),
    ("train.total_steps=-5", "train.total_steps must be >= 0, got -5"),
    ("train.lr=nan", "train.lr must be >= 0, got nan"),
    ("train.betas=[0.9,1.5]", "train.betas[1] must be in [0, 1), got 1.5"),
    ("model.hidden_dropout=1", "model.hidden_dropout must be in [0, 1), got 1.0"),
    ("data.tasks={mlm: -1}", "data.tasks.mlm must be >= 0, got -1.0"),
    ("data.mask_prob=1.5", "data.mask_prob must be in [0, 1], got 1.5"),
])
def test_out_of_range_value_is_one_line_naming_the_key(tmp_path, capsys, override, message):
    run = tmp_path / "run"
    assert main(["train", "uniter-tiny-vqa", f"out={run}", override]) == 2
    assert capsys.readouterr().err == f"vlkit train: error: {message}\n"
    assert not run.exists()


def test_every_numeric_field_has_a_range_and_every_preset_is_in_range():
    for section in ("model", "data", "train"):
        cls = field_hints(RunConfig)[section]
        numeric = {name for name, hint in field_hints(cls).items()
                   if hint in (int, float) or str(hint) in ("list[float]", "dict[str, float]")}
        unchecked = numeric - set(cls.RANGES) - {"seed"}  # any integer is a seed
        assert not unchecked, f"{section}: no range for {sorted(unchecked)}"
        assert set(cls.RANGES) <= {f.name for f in dataclasses.fields(cls)}
    for name in preset_names():
        load_config(name)


def test_task_options_have_ranges_too(world, tiny, tmp_path, capsys):
    from vlkit.evaluation.caption import CaptionOptions
    from vlkit.evaluation.itm import ItmOptions
    from vlkit.evaluation.vcr import VcrOptions
    from vlkit.recipes.vlbert_pretrain import VlBertPretrainOptions

    for cls in (CaptionOptions, ItmOptions, VcrOptions, VlBertPretrainOptions):
        numeric = {n for n, h in field_hints(cls).items() if h in (int, float)}
        assert numeric - set(cls.RANGES) <= {"length_penalty"}, cls.__name__  # any real number
    run = tmp_path / "run"
    assert main(["train", "uniter-tiny-itm", f"data.root={world}", f"out={run}",
                 "task.rank_k=0", *tiny]) == 2
    assert capsys.readouterr().err == "vlkit train: error: task.rank_k must be >= 1, got 0\n"
    assert not run.exists()


@pytest.mark.parametrize(("flag", "value"), [("--images", "0"), ("--feat-dim", "-1")])
def test_synth_flags_have_ranges(tmp_path, capsys, flag, value):
    out = tmp_path / "w"
    assert main(["data", "synth", "--out", str(out), flag, value]) == 2
    low = 1
    assert capsys.readouterr().err == f"vlkit data: error: {flag} must be >= {low}, got {value}\n"
    assert not out.exists() and list(tmp_path.iterdir()) == []
