"""What an extraction is made of: one typed record, saved in the store it produced.

A store written by `vlkit extract` keeps these options (plus the SHA-256 of the weights file)
in `manifest.json` under `meta.extraction.options`, so that one raw image can later be turned into
the same kind of regions (`vlkit.extract.api`) and so that a resumed run can check it is
continuing the same job.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from vlkit.utils.errors import ConfigError

ROUTES = ("detector", "boxes", "grid", "butd")
RESNETS = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")  # vlkit.extract.resnet
LAYERS = ("c4", "c5")
SYNTHETIC = "synthetic"  # the synthetic world's fixed pixel extractor (boxes route only)
BACKBONES = (*RESNETS, SYNTHETIC)
DETECTORS = ("fasterrcnn_resnet50_fpn", "fasterrcnn_resnet50_fpn_v2")
BOX_FORMATS = ("xyxy", "xywh")
OUT_FORMATS = ("native", "uniter")  # the store written: vlkit native, or a UNITER img_db
REGION_ORDERS = ("proposal", "conf")  # butd route: how kept regions are ordered
PRECISIONS = ("fp32", "bf16")  # butd route: bf16 = CPU autocast of the convolutions


@dataclass
class ExtractOptions:
    """Options of one extraction; see docs/extraction.md for each field."""

    route: str = "grid"
    backbone: str = "resnet50"  # boxes / grid routes: a ResNet name, or "synthetic" (boxes)
    weights: str = ""  # weights file: ResNet (boxes, grid), Faster R-CNN (detector, butd)
    layer: str = "c5"  # ResNet feature map: c4 (stride 16) or c5 (stride 32)
    grid: int = 7  # grid route: cells per side after average pooling (0: the map's own)
    pool: int = 7  # boxes route: RoIAlign output size (then averaged to one vector)
    sampling_ratio: int = 2  # boxes route: RoIAlign samples per bin and axis
    min_size: int = 600  # shorter image side is scaled to this (0: no upscaling) ...
    max_size: int = 1000  # ... unless the longer side would pass this
    feat_dim: int = 256  # synthetic backbone only: its output size
    box_format: str = "xyxy"  # boxes route: how the boxes file writes boxes (pixels)
    detector: str = "fasterrcnn_resnet50_fpn"
    conf_threshold: float = 0.2  # UNITER's rule: keep boxes with class confidence >= 0.2 ...
    min_boxes: int = 10  # ... but at least 10 ...
    max_boxes: int = 100  # ... and at most 100
    nms_iou: float = 0.3  # per-class NMS before the confidence of a box is taken
    proposals: int = 300  # RPN proposals per image scored by the box head (fewer: faster)
    pre_nms_proposals: int = 6000  # butd route: best-scored anchors entering the RPN's NMS
    region_order: str = "proposal"  # butd route: "proposal" (UNITER's files) or "conf" (desc.)
    precision: str = "fp32"  # butd route: "bf16" runs the convolutions under bf16 autocast

    def validate(self) -> ExtractOptions:
        """Raise ConfigError naming the flag on an impossible value; return self."""
        _choice("--route", self.route, ROUTES)
        _choice("--box-format", self.box_format, BOX_FORMATS)
        _choice("--region-order", self.region_order, REGION_ORDERS)
        _choice("--precision", self.precision, PRECISIONS)
        if self.precision != "fp32" and self.route != "butd":
            raise ConfigError(f"--precision {self.precision} is for --route butd only")
        if self.route == "detector":
            _choice("--detector", self.detector, DETECTORS)
        elif self.route != "butd":
            _choice("--backbone", self.backbone, BACKBONES)
            _choice("--layer", self.layer, LAYERS)
        if self.route == "grid" and self.backbone == SYNTHETIC:
            raise ConfigError("--route grid needs a feature-map backbone "
                              f"({', '.join(RESNETS)}); the synthetic extractor pools given "
                              "boxes only (--route boxes)")
        detects = self.route in ("detector", "butd")
        if (detects or self.backbone != SYNTHETIC) and not self.weights:
            what = "Faster R-CNN" if detects else self.backbone
            raise ConfigError(f"--weights: the {what} weights file is required (vlkit never "
                              "downloads weights); see docs/extraction.md")
        bounds = (("--grid", self.grid, 0), ("--pool", self.pool, 1),
                  ("--sampling-ratio", self.sampling_ratio, 1), ("--min-size", self.min_size, 0),
                  ("--max-size", self.max_size, 1), ("--feat-dim", self.feat_dim, 1),
                  ("--min-boxes", self.min_boxes, 1), ("--max-boxes", self.max_boxes, 1),
                  ("--proposals", self.proposals, 1),
                  ("--pre-nms-proposals", self.pre_nms_proposals, 1))
        for flag, value, low in bounds:
            if value < low:
                raise ConfigError(f"{flag} must be >= {low}, got {value}")
        if self.min_boxes > self.max_boxes:
            raise ConfigError(f"--min-boxes {self.min_boxes} is above --max-boxes "
                              f"{self.max_boxes}")
        if not 0.0 <= self.conf_threshold <= 1.0 or not 0.0 < self.nms_iou <= 1.0:
            raise ConfigError("--conf-threshold must be in [0, 1] and --nms-iou in (0, 1], got "
                              f"{self.conf_threshold} and {self.nms_iou}")
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "extraction options") -> ExtractOptions:
        """Options from a dict (a store manifest's `meta.extraction`); unknown keys are errors."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {unknown}; expected some of "
                              f"{sorted(names)}")
        return cls(**data)


def _choice(flag: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{flag}: unknown value {value!r}; expected one of {', '.join(allowed)}")
