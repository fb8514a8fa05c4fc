"""BUTD weights files: what is refused and how (another detector, a truncated file, a pickle
that would run code), and that a refused file leaves nothing behind."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch
from butd_helpers import butd_dir, write_detectron2_pkl, write_image

from vlkit.cli.main import main
from vlkit.extract.butd.weights import load_detector, read_butd_state, spec_from_state
from vlkit.utils.errors import CheckpointError, ConfigError


@pytest.fixture(scope="module")
def tiny_state(fixtures_dir) -> dict[str, torch.Tensor]:
    return torch.load(butd_dir(fixtures_dir) / "tiny" / "state_dict.pt", weights_only=True)


def test_uniter_state_dict_is_not_a_detector(tmp_path):
    path = tmp_path / "uniter.pt"
    torch.save({"uniter.embeddings.word_embeddings.weight": torch.zeros(8, 4),
                "uniter.encoder.layer.0.attention.self.query.weight": torch.zeros(4, 4)}, path)
    with pytest.raises(CheckpointError) as err:
        load_detector(path)
    message = str(err.value)
    assert str(path) in message and "not the weights of a bottom-up-attention" in message
    assert "2 unexpected key(s): uniter.embeddings.word_embeddings.weight" in message
    assert "missing key(s): backbone.res2.0.conv1.norm.bias" in message
    assert "more)" in message  # hundreds missing: the first few and a count


def test_torchvision_faster_rcnn_is_not_a_butd_detector(tmp_path):
    path = tmp_path / "fasterrcnn.pth"
    torch.save({"backbone.body.conv1.weight": torch.zeros(64, 3, 7, 7),
                "rpn.head.conv.0.0.weight": torch.zeros(256, 256, 3, 3),
                "roi_heads.box_predictor.cls_score.weight": torch.zeros(91, 1024),
                "roi_heads.box_predictor.cls_score.bias": torch.zeros(91)}, path)
    with pytest.raises(CheckpointError, match=r"2 unexpected key\(s\): backbone.body.conv1"):
        load_detector(path)


def test_mis_shaped_keys_are_listed(tiny_state, tmp_path):
    state = dict(tiny_state)
    state["roi_heads.box_predictor.bbox_pred.weight"] = torch.zeros(7, 256)
    path = tmp_path / "bad.pt"
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=r"1 mis-shaped key\(s\): roi_heads.box_predictor"
                       r".bbox_pred.weight: file \(7, 256\) vs model \(80, 256\)"):
        load_detector(path)


def test_sizes_are_read_from_the_weights(tiny_state):
    spec = spec_from_state(tiny_state)
    assert (spec.blocks, spec.res2_out, spec.rpn_hidden) == ((3, 4, 6, 3), 32, 32)
    assert (spec.num_classes, spec.num_attrs, spec.embed, spec.attr_hidden) == (20, 10, 32, 64)


@pytest.mark.parametrize("suffix", [".bin", ".pkl"])
def test_truncated_files_name_the_file(tiny_state, tmp_path, suffix):
    path = tmp_path / f"model{suffix}"
    if suffix == ".pkl":
        write_detectron2_pkl(tiny_state, path)
    else:
        torch.save(tiny_state, path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match=f"model{suffix}: cannot read"):
        read_butd_state(path)


class RunsCode:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickle_naming_another_global_is_refused_unexecuted(tmp_path):
    marker = tmp_path / "executed"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"model": {"w": np.zeros(3), "x": RunsCode(str(marker))}}))
    with pytest.raises(CheckpointError, match=r"evil.pkl: not loaded: refused global "
                       r"(posix|os|nt)\.system"):
        read_butd_state(path)
    assert not marker.exists()


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist; vlkit never downloads"):
        read_butd_state(tmp_path / "pytorch_model.bin")


def test_refused_weights_write_no_store(fixtures_dir, tmp_path, capsys):
    images = tmp_path / "images"
    write_image(fixtures_dir, images)
    weights = tmp_path / "other.pt"
    torch.save({"fc.weight": torch.zeros(2, 2)}, weights)
    out = tmp_path / "store"
    argv = ["extract", "--route", "butd", "--weights", str(weights), "--images", str(images),
            "--out", str(out), "--no-progress"]
    assert main(argv) == 2
    assert "not the weights of a bottom-up-attention" in capsys.readouterr().err
    weights.write_bytes(b"PK\x03\x04 truncated")
    assert main(argv) == 2
    assert "other.pt: cannot read" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["images", "other.pt"]
