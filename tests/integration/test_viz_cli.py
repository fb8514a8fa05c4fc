"""`vlkit viz attention` through the CLI on the synthetic world: PNGs, JSON, errors."""

from __future__ import annotations

import json

import torch
from PIL import Image

from vlkit.cli.main import main
from vlkit.data.stores.native_txt import NativeTextStore
from vlkit.models.config import ModelConfig
from vlkit.models.io import save_model
from vlkit.models.uniter import Uniter
from vlkit.viz.patterns import PATTERNS


def _checkpoint(path, img_dim: int = 256):
    torch.manual_seed(0)
    cfg = ModelConfig(hidden_size=32, num_layers=2, num_heads=4, intermediate_size=64,
                      max_position_embeddings=64, img_dim=img_dim)
    save_model(Uniter(cfg, heads=("itm",)), path, cfg)


def test_attention_maps_for_a_caption_record(world, viz_first_caption, tmp_path, capsys):
    _checkpoint(tmp_path / "ckpt")
    out = tmp_path / "maps"
    rec = viz_first_caption(tmp_path / "ckpt", out)
    assert "head patterns (2 layers x 4 heads)" in capsys.readouterr().out
    names = sorted(p.name for p in out.iterdir())
    assert names == ["layer00.png", "layer01.png", "patterns.json", "patterns.png",
                     "regions.png"]
    for name in names[:2] + names[3:]:
        with Image.open(out / name) as img:
            # patterns.png of an untrained model: one sentence (every head heterogeneous)
            assert img.format == "PNG" and min(img.size) > (80 if name == "patterns.png" else 200)
    summary = json.loads((out / "patterns.json").read_text())
    assert len(summary["tokens"]) == len(rec["input_ids"]) + 2
    assert summary["tokens"][0] == "[CLS]" and summary["tokens"][-1] == "[SEP]"
    assert len(summary["regions"]) == world_regions(world, rec["img_id"])
    assert [len(layer) for layer in summary["heads"]] == [4, 4]
    assert all(h["pattern"] in PATTERNS for layer in summary["heads"] for h in layer)
    assert sum(summary["counts"].values()) == 8


def world_regions(world, img_id: str) -> int:
    from vlkit.data.stores.open import open_store

    return open_store(world / "img").num_boxes(img_id)


def test_free_text_and_errors(world, tmp_path, capsys):
    _checkpoint(tmp_path / "ckpt")
    img_id = NativeTextStore(world / "txt" / "caption_val").get(
        NativeTextStore(world / "txt" / "caption_val").ids()[0])["img_id"]
    args = ["viz", "attention", "--checkpoint", str(tmp_path / "ckpt"), "--img-store",
            str(world / "img"), "--out", str(tmp_path / "maps")]
    assert main([*args, "--img-id", img_id, "--text", "a red circle left of a square"]) == 0
    tokens = json.loads((tmp_path / "maps" / "patterns.json").read_text())["tokens"]
    assert tokens[1:4] == ["a", "red", "circle"]
    assert main([*args, "--img-id", "no-such-image", "--text", "a"]) == 2
    assert "no-such-image" in capsys.readouterr().err
    _checkpoint(tmp_path / "wide", img_dim=300)
    wide = ["viz", "attention", "--checkpoint", str(tmp_path / "wide"), "--img-store",
            str(world / "img"), "--img-id", img_id, "--text", "a", "--out",
            str(tmp_path / "w")]
    assert main(wide) == 2
    assert "300" in capsys.readouterr().err
