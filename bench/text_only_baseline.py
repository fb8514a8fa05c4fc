"""Is the synthetic world fair? Text-only guessers vs chance, and linear probes of regions.

    python bench/text_only_baseline.py [--world DIR | --images N --seed S] [--probe-images M]

Prints one JSON object:
  text_only.<task>: chance, majority (most frequent train label per exact text, else per
                    type) and bow (bag-of-words + bigrams softmax regression), train -> test;
  region_probe:     ridge-regression accuracy of shape (+ background) and colour from the
                    stored region features, and of size from features + 7-d box, with chance.
Without --world a temporary world is built (and deleted).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from vlkit.data.stores.native_img import NativeImageStore
from vlkit.data.stores.native_txt import NativeTextStore
from vlkit.data.synthetic.probes import (
    bow_accuracy,
    chance_accuracy,
    majority_accuracy,
    ridge_probe,
)
from vlkit.data.synthetic.scene import COLOURS, SHAPES, SIZES
from vlkit.data.synthetic.world import build_world, make_images
from vlkit.featurizers.synthetic import get_extractor


def _label(task: str, rec: dict) -> tuple[str, int]:
    """(type, label) of a record for the text-only guessers."""
    if task == "vqa":
        return rec["question_type"], rec["target"]["labels"][0]
    if task == "nlvr2":
        return rec["template"], rec["label"]
    return "all", rec["label"]


def text_only(world: Path, task: str) -> dict:
    stores = {s: list(NativeTextStore(world / "txt" / f"{task}_{s}")) for s in ("train", "test")}
    cols = {s: ([r["text"] for r in recs], *zip(*(_label(task, r) for r in recs), strict=True))
            for s, recs in stores.items()}
    (tr_text, tr_type, tr_y), (te_text, te_type, te_y) = cols["train"], cols["test"]
    return {"train": len(tr_y), "test": len(te_y),
            "chance": round(chance_accuracy(tr_type, tr_y, te_type), 4),
            "majority": round(majority_accuracy(tr_text, tr_type, tr_y, te_text, te_type, te_y), 4),
            "bow": round(bow_accuracy(tr_text, list(tr_y), te_text, list(te_y)), 4)}


def region_probe(world: Path, num_images: int) -> dict:
    manifest = json.loads((world / "manifest.json").read_text())
    store = NativeImageStore(world / "img")
    n = min(num_images, manifest["num_images"])
    _, items, _ = make_images(manifest["seed"], range(n), get_extractor(manifest["feat_dim"]))
    feat, box, cls, colour, size = [], [], [], [], []
    for item in items:
        rec = store.get(item.img_id)
        region_class = np.zeros(rec.num_boxes, dtype=np.int64)
        region_class[item.obj_region] = item.scene.shape + 1
        feat.append(np.asarray(rec.feat, dtype=np.float32))
        box.append(np.asarray(rec.boxes))
        cls.append(region_class)
        colour.append(item.scene.colour)
        size.append(item.scene.size)
    obj_rows = np.concatenate([np.cumsum([0] + [len(c) for c in cls[:-1]])[i] + it.obj_region
                               for i, it in enumerate(items)])
    feat, box, cls = np.concatenate(feat), np.concatenate(box), np.concatenate(cls)
    colour, size = np.concatenate(colour), np.concatenate(size)
    out = {"images": n}
    for name, x, y, k in (("shape_or_background", feat, cls, len(SHAPES) + 1),
                          ("colour", feat[obj_rows], colour, len(COLOURS)),
                          ("size", np.concatenate([feat, box], 1)[obj_rows], size, len(SIZES))):
        cut = int(0.8 * len(y))
        out[name] = {"accuracy": round(ridge_probe(x[:cut], y[:cut], x[cut:], y[cut:]), 4),
                     "chance": round(1.0 / k, 4)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", type=Path, help="an existing world (else one is built)")
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--probe-images", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        world, build_s = args.world, None
        if world is None:
            world, start = Path(tmp) / "world", time.perf_counter()
            build_world(world, num_images=args.images, seed=args.seed)
            build_s = round(time.perf_counter() - start, 2)
        result = {"world": str(args.world or f"built: {args.images} images, seed {args.seed}"),
                  "build_seconds": build_s,
                  "text_only": {t: text_only(world, t) for t in ("vqa", "nlvr2", "snli_ve")},
                  "region_probe": region_probe(world, args.probe_images)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
