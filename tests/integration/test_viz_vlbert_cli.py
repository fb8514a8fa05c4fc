"""`vlkit viz attention` on a VL-BERT checkpoint: VL-BERT's layout (text, [IMG] whole image,
regions, [END]) labelled, every head classified, PNGs and patterns.json written."""

from __future__ import annotations

import json

import torch
from PIL import Image

from vlkit.data.stores.open import open_store
from vlkit.models.config import ModelConfig
from vlkit.models.io import load_model, save_model
from vlkit.models.presets import MODEL_PRESETS
from vlkit.models.vlbert import VlBert
from vlkit.viz.example import example_attentions, load_example
from vlkit.viz.patterns import PATTERNS


def test_attention_maps_of_a_vlbert_tiny_model(world, viz_first_caption, tmp_path, capsys):
    torch.manual_seed(0)
    # vlbert-tiny's widths, one layer: rendering a layer costs seconds
    cfg = ModelConfig(name="vlbert-tiny", **{**MODEL_PRESETS["vlbert-tiny"], "img_dim": 256,
                                              "img_label_dim": 7, "num_layers": 1})
    save_model(VlBert(cfg, heads=("mlm", "mvrc")), tmp_path / "ckpt", cfg)
    out = tmp_path / "maps"
    rec = viz_first_caption(tmp_path / "ckpt", out)
    layers, heads = cfg.num_layers, cfg.num_heads
    assert f"head patterns ({layers} layers x {heads} heads)" in capsys.readouterr().out
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == [f"layer{i:02d}.png" for i in range(layers)] + ["patterns.png",
                                                                     "regions.png"]
    for name in pngs:
        with Image.open(out / name) as img:
            assert img.format == "PNG" and max(img.size) > 200
    summary = json.loads((out / "patterns.json").read_text())
    num_regions = open_store(world / "img").num_boxes(rec["img_id"])
    tl = len(rec["input_ids"]) + 2
    assert summary["arch"] == "vlbert"
    assert summary["sequence"][:tl] == summary["tokens"]
    assert summary["sequence"][tl:] == ["[IMG]", *[f"r{k}" for k in range(num_regions)], "[END]"]
    assert [len(layer) for layer in summary["heads"]] == [heads] * layers
    assert all(h["pattern"] in PATTERNS for layer in summary["heads"] for h in layer)
    assert sum(summary["counts"].values()) == layers * heads

    model = load_model(tmp_path / "ckpt")
    example = load_example(world / "img", txt_store=world / "txt" / "caption_val",
                           record_id=rec["id"])
    maps = example_attentions(model, example)
    n = tl + num_regions + 2
    assert len(maps) == layers and maps[0].shape == (heads, n, n)
    assert torch.allclose(maps[-1].sum(-1), torch.ones(heads, n), atol=1e-5)
