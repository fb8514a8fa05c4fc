"""Build a whole synthetic world on disk: one image store and text stores per task and split.

Layout of DIR (documented in docs/synthetic-world.md):
    manifest.json             seed, counts, feat_dim, label_dim, splits, store paths (last)
    img/                      native image store, every image (ids "synth-000123")
    txt/<task>_<split>/       native text stores; tasks TASKS, splits SPLITS (split by image)
    pixels/                   optional PNGs of the first few images, for humans

Randomness: image i draws from `default_rng([seed, 0, i])`, its per-image text from
`default_rng([seed, 1, task, i])` and NLVR2 pairs from `default_rng([seed, 2, split])`, so
the same seed and counts give byte-identical files. DIR is built in a temporary sibling and
renamed into place.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np

from vlkit.data.records import ImageRecord, xyxy_to_box7
from vlkit.data.regions import box_records
from vlkit.data.stores.native_img import NativeImageStoreWriter
from vlkit.data.stores.native_txt import NativeTextStoreWriter
from vlkit.data.synthetic.entailment import LABELS as VE_LABELS
from vlkit.data.synthetic.entailment import snli_ve_records
from vlkit.data.synthetic.features import LABEL_NAMES, region_boxes
from vlkit.data.synthetic.features import soft_labels as make_soft_labels
from vlkit.data.synthetic.language import (
    CONTENT_WORDS,
    caption_records,
    refer_records,
    region_records,
)
from vlkit.data.synthetic.nlvr2 import nlvr2_records
from vlkit.data.synthetic.render import render_scene
from vlkit.data.synthetic.scene import IMAGE_SIZE, SceneImage, sample_scene
from vlkit.data.synthetic.vcr import vcr_records
from vlkit.data.synthetic.vqa import ANS2LABEL, ANSWERS, vqa_records
from vlkit.featurizers.synthetic import FeatureExtractor, get_extractor
from vlkit.text.tokenizer import get_tokenizer
from vlkit.utils.atomic import atomic_dir
from vlkit.utils.errors import ConfigError, DataError

log = logging.getLogger(__name__)

GENERATOR_VERSION = 4  # 2: "region" stores; 3: tokenised with VOCAB; 4: VCR names objects uniquely
TASKS = ("caption", "vqa", "nlvr2", "snli_ve", "refer", "vcr", "region")
# Region descriptions are caption-task stores (as Visual Genome's are in UNITER's txt_db), so
# that pre-training can read them together with the captions.
STORE_TASK = {"region": "caption"}
SPLITS = ("train", "val", "test")
MIN_IMAGES = 10
CHUNK = 256
VOCAB = "synthetic-world"  # the world's closed vocabulary (vlkit/text/vocab)
Progress = Callable[[str, int, int], None]


def image_id(index: int) -> str:
    return f"synth-{index:06d}"


def split_ranges(num_images: int, val_frac: float = 0.1,
                 test_frac: float = 0.1) -> dict[str, range]:
    """Contiguous image-index ranges per split: train first, then val, then test."""
    n_val = max(1, round(num_images * val_frac))
    n_test = max(1, round(num_images * test_frac))
    n_train = num_images - n_val - n_test
    return {"train": range(0, n_train), "val": range(n_train, n_train + n_val),
            "test": range(n_train + n_val, num_images)}


def make_images(seed: int, indices: range, extractor: FeatureExtractor
                ) -> tuple[list[ImageRecord], list[SceneImage], np.ndarray]:
    """Scenes, pixels (B, 96, 96, 3) uint8 and region records of images `indices`.

    The records come from the given-boxes extraction code (`vlkit.data.regions`) with the
    fixed pixel extractor as its backbone: the same code as `vlkit extract --route boxes
    --backbone synthetic`.
    """
    pixels, boxes, softs, items = [], [], [], []
    for index in indices:
        rng = np.random.default_rng([seed, 0, index])
        scene = sample_scene(rng)
        pixels.append(render_scene(scene, rng))
        xyxy, obj_region = region_boxes(scene, rng)
        region_class = np.zeros(xyxy.shape[0], dtype=np.int64)
        region_class[obj_region] = scene.shape + 1
        softs.append(make_soft_labels(region_class, rng))
        boxes.append(xyxy)
        box7 = xyxy_to_box7(xyxy, IMAGE_SIZE, IMAGE_SIZE)
        items.append(SceneImage(image_id(index), index, scene, box7[:, :4], obj_region))
    images = np.stack(pixels)
    records = box_records([item.img_id for item in items], images, boxes, extractor, softs)
    return records, items, images


def _per_image(task: str, item: SceneImage, rng: np.random.Generator, split: str,
               encode: Callable[[str], tuple[int, ...]]) -> list[dict]:
    if task == "caption":
        return caption_records(item, rng, split)
    if task == "vqa":
        return vqa_records(item, rng)
    if task == "snli_ve":
        return snli_ve_records(item, rng)
    if task == "refer":
        return refer_records(item, rng, split)
    if task == "region":
        return region_records(item, rng, split)
    return vcr_records(item, rng, encode)


def text_records(task: str, split: str, items: list[SceneImage], seed: int) -> list[dict]:
    """All records of one task and split, with `input_ids` filled in."""
    t = TASKS.index(task)
    encode = lru_cache(maxsize=None)(lambda word: tuple(get_tokenizer(VOCAB).encode(word)))
    if task == "nlvr2":
        records = nlvr2_records(items, np.random.default_rng([seed, 2, SPLITS.index(split)]),
                                split)
    else:
        records = []
        for item in items:
            rng = np.random.default_rng([seed, 1, t, item.index])
            records += _per_image(task, item, rng, split, encode)
    if task != "vcr":
        ids = get_tokenizer(VOCAB).encode_batch([r["text"] for r in records])
        records = [{"id": r["id"], "text": r["text"], "input_ids": i, **r}
                   for r, i in zip(records, ids, strict=True)]
    _check_in_vocab(records)
    return records


def _check_in_vocab(records: list[dict]) -> None:
    """Every word the generator writes must be in VOCAB (a new word needs a vocabulary line)."""
    unk = get_tokenizer(VOCAB).unk_id
    for rec in records:
        if unk in rec["input_ids"]:
            raise DataError(f"synthetic record {rec['id']}: {rec['text']!r} has a word outside "
                            f"the {VOCAB} vocabulary (vlkit/text/vocab/{VOCAB}.txt)")


def task_meta(task: str, split: str, seed: int) -> dict:
    meta = {"source": "vlkit synthetic world", "generator_version": GENERATOR_VERSION,
            "seed": seed, "split": split}
    if task == "vqa":
        meta.update(ans2label=ANS2LABEL, label2ans=list(ANSWERS), num_answers=len(ANSWERS))
    elif task == "snli_ve":
        meta.update(label_names={str(v): k for k, v in VE_LABELS.items()})
    elif task in ("caption", "region"):
        meta.update(content_words=CONTENT_WORDS)
    elif task == "refer":
        meta.update(categories=list(LABEL_NAMES))
    return meta


def _save_pngs(folder: Path, images: np.ndarray, items: list[SceneImage], limit: int) -> int:
    from PIL import Image

    saved = 0
    for item, pixels in zip(items, images, strict=True):
        if item.index < limit:
            folder.mkdir(exist_ok=True)
            Image.fromarray(pixels).save(folder / f"{item.img_id}.png")
            saved += 1
    return saved


def build_world(out_dir: str | Path, num_images: int = 5000, seed: int = 0,
                feat_dim: int = 256, png: int = 0, overwrite: bool = False,
                progress: Progress | None = None) -> dict:
    """Write a synthetic world to `out_dir` (atomically) and return its manifest."""
    if num_images < MIN_IMAGES:
        raise ConfigError(f"--images: a world needs at least {MIN_IMAGES} images, got {num_images}")
    if feat_dim < 1:
        raise ConfigError(f"--feat-dim: must be positive, got {feat_dim}")
    out_dir = Path(out_dir)
    extractor = get_extractor(feat_dim)
    ranges = split_ranges(num_images)
    items: list[SceneImage] = []
    counts: dict[str, dict[str, int]] = {}
    with atomic_dir(out_dir, overwrite=overwrite) as tmp:
        with NativeImageStoreWriter(tmp / "img") as writer:
            for start in range(0, num_images, CHUNK):
                recs, chunk_items, pixels = make_images(
                    seed, range(start, min(start + CHUNK, num_images)), extractor)
                for rec in recs:
                    writer.add(rec)
                items += chunk_items
                _save_pngs(tmp / "pixels", pixels, chunk_items, png)
                if progress:
                    progress("images", start + len(recs), num_images)
        for t, task in enumerate(TASKS):
            counts[task] = {}
            for split, rng_ in ranges.items():
                records = text_records(task, split, items[rng_.start:rng_.stop], seed)
                path = tmp / "txt" / f"{task}_{split}"
                with NativeTextStoreWriter(path, STORE_TASK.get(task, task), VOCAB,
                                           task_meta(task, split, seed)) as w:
                    for rec in records:
                        w.add(rec)
                counts[task][split] = len(records)
            if progress:
                progress("text", t + 1, len(TASKS))
        manifest = {
            "format": "vlkit-synth", "generator_version": GENERATOR_VERSION, "seed": seed,
            "num_images": num_images, "image_size": IMAGE_SIZE, "feat_dim": feat_dim,
            "label_dim": len(LABEL_NAMES), "label_names": list(LABEL_NAMES), "vocab": VOCAB,
            "content_words": CONTENT_WORDS,
            "splits": {s: {"num_images": len(r), "first": image_id(r.start),
                           "last": image_id(r.stop - 1)} for s, r in ranges.items()},
            "counts": counts, "pixels": min(png, num_images),
            "stores": {"img": "img", "txt": {task: {s: f"txt/{task}_{s}" for s in SPLITS}
                                             for task in TASKS}},
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    log.info("synthetic world: %d images in %s", num_images, out_dir)
    return manifest
