"""What a new user sees for a wrong path: the path as typed (or the config key it came
from), said not to exist, with near matches."""

from __future__ import annotations

from pathlib import Path

import pytest

from vlkit.cli.main import main

QUICK = ["train.progress=false", "train.device=cpu", "train.total_steps=1"]


def _error(capsys: pytest.CaptureFixture, argv: list[str]) -> str:
    capsys.readouterr()
    assert main(argv) == 2
    return capsys.readouterr().err


def test_a_mistyped_run_directory_says_so_with_near_matches(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs" / "quickstart" / "vqa_pretrained").mkdir(parents=True)
    err = _error(capsys, ["eval", "runs/quickstart/vqa_pretraind"])
    assert err == ("vlkit eval: error: no such file or folder: runs/quickstart/vqa_pretraind "
                   "(did you mean runs/quickstart/vqa_pretrained?)\n")
    err = _error(capsys, ["train", "uniter-tiny-vqa", "data.root=nowhere", f"out={tmp_path}/r",
                          "train.init_from=runs/quickstart/vqa_pretraind", *QUICK])
    assert "config key 'data.root': no such file or folder: nowhere" in err


def test_data_root_problems_name_data_root(world: Path, tmp_path, capsys):
    typo = str(world) + "x"
    err = _error(capsys, ["train", "uniter-tiny-vqa", f"data.root={typo}",
                          f"out={tmp_path}/r", *QUICK])
    assert err.startswith(f"vlkit train: error: config key 'data.root': no such file or "
                          f"folder: {typo} (did you mean {world}?)")
    err = _error(capsys, ["train", "uniter-tiny-vqa", f"data.root={world}/txt",
                          f"out={tmp_path}/r", *QUICK])
    assert f"config key 'data.root' is {world}/txt, which holds no '" in err
    assert "/img: no such" not in err


def test_init_from_that_does_not_exist(world: Path, tmp_path, capsys):
    (tmp_path / "runs" / "pretrain").mkdir(parents=True)
    err = _error(capsys, ["train", "uniter-tiny-vqa", f"data.root={world}",
                          f"out={tmp_path}/r", f"train.init_from={tmp_path}/runs/pretrian",
                          *QUICK])
    assert (f"config key 'train.init_from': no such file or folder: {tmp_path}/runs/pretrian "
            f"(did you mean {tmp_path}/runs/pretrain?)") in err
