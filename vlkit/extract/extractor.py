"""One object that turns an image's pixels into an ImageRecord by the chosen route."""

from __future__ import annotations

import numpy as np

from vlkit.data.records import ImageRecord
from vlkit.data.regions import box_records
from vlkit.extract.backbones import ResNetBackbone, build_featurizer
from vlkit.extract.grid import grid_record
from vlkit.extract.options import ExtractOptions
from vlkit.extract.weights import file_sha256
from vlkit.utils.errors import ConfigError


class Extractor:
    """Built once from `ExtractOptions` (weights are read here), then `record()` per image."""

    def __init__(self, opts: ExtractOptions):
        self.opts = opts.validate()
        if opts.route == "detector":
            from vlkit.extract.detector import Detector

            self.model = Detector(opts)
        elif opts.route == "butd":
            from vlkit.extract.butd.route import ButdExtractor

            self.model = ButdExtractor(opts)
        else:
            self.model = build_featurizer(opts)
        self.feat_dim = int(self.model.feat_dim)
        self.weights_sha256 = file_sha256(opts.weights) if opts.weights else ""

    @property
    def needs_boxes(self) -> bool:
        return self.opts.route == "boxes"

    def record(self, image_id: str, pixels: np.ndarray,
               boxes: np.ndarray | None = None) -> ImageRecord:
        """The regions of one image (H, W, 3) uint8; `boxes` (N, 4) pixel xyxy for the boxes
        route (ConfigError when missing), ignored otherwise."""
        if self.opts.route in ("detector", "butd"):
            return self.model.record(image_id, pixels)
        if self.opts.route == "grid":
            assert isinstance(self.model, ResNetBackbone)
            return grid_record(image_id, pixels, self.model, self.opts.grid)
        if boxes is None:
            raise ConfigError(f"image '{image_id}': the boxes route needs its boxes "
                              "(--boxes FILE)")
        boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        return box_records([image_id], pixels[None], [boxes], self.model)[0]

    def describe(self) -> dict:
        """What a store records about how it was made (manifest `meta.extraction`)."""
        return {"options": self.opts.to_dict(), "weights_sha256": self.weights_sha256,
                "feat_dim": self.feat_dim}
