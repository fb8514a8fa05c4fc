"""`vlkit viz attention`: one example -> attention maps, head patterns and their PNGs.

Writes into `out`:
    layer00.png ... layerNN.png   one panel per head (rows = queries, columns = keys)
    regions.png                   the region boxes named r0, r1, ... as in the maps
    patterns.png                  every head's pattern (layers x heads) and counts per pattern
    patterns.json                 tokens, regions, per-head pattern and its masses
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import yaml

from vlkit.models.io import CONFIG, load_model
from vlkit.utils.atomic import atomic_write
from vlkit.utils.errors import CheckpointError, DataError
from vlkit.utils.suggest import missing_path
from vlkit.viz.example import example_attentions, load_example, sequence_labels
from vlkit.viz.patterns import PATTERNS, classify_layers
from vlkit.viz.render import render_layer, render_regions, render_summary


def checkpoint_dir(path: str | Path) -> Path:
    """A checkpoint folder, or the `model/` folder of a run directory."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(missing_path(path))
    if (path / "model").is_dir() and not (path / "model.safetensors").exists():
        path = path / "model"
    if not (path / "model.safetensors").is_file():
        raise CheckpointError(f"{path}: not a vlkit checkpoint folder (no model.safetensors)")
    return path


def checkpoint_vocab(path: Path) -> str:
    """The run config's text.vocab saved beside the weights, else bert-base-uncased."""
    raw = yaml.safe_load((path / CONFIG).read_text(encoding="utf-8")) or {}
    return (raw.get("text") or {}).get("vocab") or "bert-base-uncased"


def _image_for(img_store: str | Path, img_id: str, image: str | None) -> np.ndarray | None:
    """Pixels to draw boxes on: `image`, else a synthetic world's pixels/<img_id>.png."""
    path = Path(image) if image else Path(img_store).parent / "pixels" / f"{img_id}.png"
    if not path.is_file():
        if image:
            raise DataError(f"--image {image}: no such file")
        return None
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB"))


def visualise_attention(checkpoint: str | Path, img_store: str | Path, out: str | Path,
                        img_id: str | None = None, text: str | None = None,
                        txt_store: str | Path | None = None, record_id: str | None = None,
                        vocab: str | None = None, image: str | None = None) -> dict:
    """Render every layer of one example and classify every head; returns the summary
    written to patterns.json (plus "files" and "out")."""
    ckpt = checkpoint_dir(checkpoint)
    model = load_model(ckpt)
    example = load_example(img_store, img_id=img_id, text=text, txt_store=txt_store,
                           record_id=record_id, vocab=vocab or checkpoint_vocab(ckpt))
    attentions = example_attentions(model, example)
    labels, visual = sequence_labels(model, example)
    lt = example.txt_len
    classified = classify_layers(attentions, lt, visual)
    patterns = [[p for p, _ in layer] for layer in classified]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for i, layer in enumerate(attentions):
        files.append(render_layer(layer.numpy(), labels, lt, patterns[i],
                                  f"layer {i} | {example.title}", out / f"layer{i:02d}.png"))
    files.append(render_regions(example.boxes, example.region_labels, example.img_id,
                                out / "regions.png", _image_for(img_store, example.img_id, image)))
    files.append(render_summary(patterns, f"head patterns | {example.title}",
                                out / "patterns.png"))
    summary = {
        "title": example.title, "checkpoint": str(ckpt), "arch": model.cfg.arch,
        "tokens": example.tokens, "sequence": labels,
        "regions": {lab: [round(float(v), 4) for v in box[:4]]
                    for lab, box in zip(example.region_labels, example.boxes, strict=True)},
        "num_layers": len(patterns), "num_heads": len(patterns[0]),
        "counts": {p: sum(row.count(p) for row in patterns) for p in PATTERNS},
        "heads": [[{"pattern": p, **s.as_dict()} for p, s in layer] for layer in classified],
    }
    text_out = json.dumps(summary, indent=1) + "\n"
    atomic_write(out / "patterns.json", lambda tmp: Path(tmp).write_text(text_out))
    files.append(out / "patterns.json")
    return {**summary, "files": [str(f) for f in files], "out": str(out)}
