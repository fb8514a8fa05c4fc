"""One raw image -> the ImageRecord a store made the same way would hold (for prediction).

    from vlkit.extract.api import extractor_for, image_record
    extractor = extractor_for("data/my_img_store")          # options recorded by vlkit extract
    rec = image_record("photo.jpg", extractor)               # ImageRecord, feat float16
    rec = image_record("scene.png", extractor_for("world"), boxes=[[10, 12, 40, 50]])

`extractor_for` accepts a store written by `vlkit extract` (its manifest's
`meta.extraction`), a synthetic world folder or its `img` store (the synthetic pixel
extractor, given boxes), or an `ExtractOptions`. The record is rounded to the dtypes a
native store keeps (float16 features and soft labels), so a model sees the same values it
would read from a store extracted with the same options.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from vlkit.data.records import ImageRecord
from vlkit.data.stores.uniter_img_db import EXTRACTION_FILE
from vlkit.extract.extractor import Extractor
from vlkit.extract.images import load_pixels
from vlkit.extract.options import SYNTHETIC, ExtractOptions
from vlkit.utils.errors import CheckpointError, DataError

STORE_DTYPE = np.float16  # what NativeImageStoreWriter keeps by default
SYNTH_FORMAT = "vlkit-synth"


def load_options(source: str | Path) -> tuple[ExtractOptions, str]:
    """(options, weights SHA-256 or "") recorded for the image store or world at `source`
    (a UNITER img_db written by `vlkit extract --format uniter` keeps them in extraction.json,
    beside its feat_* folder)."""
    source = Path(source)
    for sidecar in (source / EXTRACTION_FILE, source.parent / EXTRACTION_FILE):
        if sidecar.is_file():
            return _recorded(_read_json(sidecar), sidecar)
    manifest = _read_json(source / "manifest.json")
    if manifest.get("format") != SYNTH_FORMAT and (source.parent / "manifest.json").is_file():
        parent = _read_json(source.parent / "manifest.json")
        if parent.get("format") == SYNTH_FORMAT:
            manifest = parent
    if manifest.get("format") == SYNTH_FORMAT:
        return ExtractOptions(route="boxes", backbone=SYNTHETIC,
                              feat_dim=int(manifest["feat_dim"])), ""
    return _recorded(manifest.get("meta") or {}, source / "manifest.json")


def _recorded(meta: dict, where: Path) -> tuple[ExtractOptions, str]:
    extraction = meta.get("extraction")
    if not isinstance(extraction, dict) or "options" not in extraction:
        raise DataError(f"{where}: no 'meta.extraction' (the store was not written by vlkit "
                        "extract); give the extraction options explicitly")
    options = ExtractOptions.from_dict(extraction["options"], str(where))
    return options, str(extraction.get("weights_sha256", ""))


def extractor_for(source: str | Path | ExtractOptions, weights: str | Path | None = None
                  ) -> Extractor:
    """An Extractor built like the one that made `source`; `weights` replaces the recorded
    weights path (e.g. the file moved). CheckpointError if the weights differ from those the
    store was made with."""
    if isinstance(source, ExtractOptions):
        options, sha = source, ""
    else:
        options, sha = load_options(source)
    if weights is not None:
        options = ExtractOptions(**{**options.to_dict(), "weights": str(weights)})
    extractor = Extractor(options)
    if sha and extractor.weights_sha256 != sha:
        raise CheckpointError(f"{options.weights}: SHA-256 {extractor.weights_sha256[:12]}... is "
                              f"not that of the weights {source} was extracted with "
                              f"({sha[:12]}...); pass the same weights file")
    return extractor


def image_record(image: str | Path, extractor: Extractor, boxes: object = None,
                 image_id: str | None = None) -> ImageRecord:
    """The regions of one image file. boxes: (N, 4) pixel [x1, y1, x2, y2] (boxes route only).
    image_id defaults to the file name without its extension."""
    return pixels_record(load_pixels(image), extractor, boxes, image_id or Path(image).stem)


def pixels_record(pixels: np.ndarray, extractor: Extractor, boxes: object = None,
                  image_id: str = "image") -> ImageRecord:
    """The regions of (H, W, 3) uint8 pixels, rounded as `image_record`'s."""
    if boxes is not None:
        boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    rec = extractor.record(image_id, pixels, boxes)
    soft = None if rec.soft_labels is None else rec.soft_labels.astype(STORE_DTYPE)
    return ImageRecord(rec.id, rec.feat.astype(STORE_DTYPE), rec.boxes, soft, rec.extras)


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise DataError(f"{path.parent}: not a vlkit image store or world (no manifest.json)")
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object")
    return data
