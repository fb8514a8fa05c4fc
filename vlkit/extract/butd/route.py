"""The `butd` extraction route: one image's pixels -> the regions UNITER / VL-BERT / VLP were
trained on (see docs/extraction.md, "The butd route").

Stored per region: `feat` (N, D) pooled res5 feature (D = 2048 for the released model),
`boxes` (N, 7) normalised proposal boxes, `soft_labels` (N, C+1) class distribution with
background moved to column 0 (UNITER's MRC convention), and extras `conf` (N,) float32,
`obj_label` (N,) int32 the most probable foreground class as a `soft_labels` column (1..C),
`attr_label` (N,) int32 the most probable attribute (0..A-1, the reference's order without its
last "no attribute" logit) and `attr_conf` (N,) float32 its probability.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import torch

from vlkit.data.records import ImageRecord, xyxy_to_box7
from vlkit.extract.butd.boxes import per_class_max_conf
from vlkit.extract.butd.model import ButdOutputs
from vlkit.extract.butd.preprocess import preprocess
from vlkit.extract.butd.select import keep_regions
from vlkit.extract.butd.weights import load_detector
from vlkit.extract.options import ExtractOptions
from vlkit.utils.errors import ConfigError


@dataclass
class ButdRegions:
    """The kept regions of one image (N of them); boxes in raw-image pixels."""

    index: np.ndarray  # (N,) int64 proposal indices (proposals sorted by objectness)
    boxes: np.ndarray  # (N, 4) float32 xyxy
    feat: np.ndarray  # (N, D) float32
    soft_labels: np.ndarray  # (N, C+1) float32, background first
    conf: np.ndarray  # (N,) float32
    obj_label: np.ndarray  # (N,) int32 in 1..C
    attr_label: np.ndarray  # (N,) int32 in 0..A-1
    attr_conf: np.ndarray  # (N,) float32


class ButdExtractor:
    """Built once from `ExtractOptions` (the weights file is read and checked here), then
    `record()` per image. `opts.precision == "bf16"` runs the network under CPU bf16 autocast
    (refused where bf16 is emulated: 10-30x slower there)."""

    def __init__(self, opts: ExtractOptions):
        if opts.min_size < 1:
            raise ConfigError("--min-size must be >= 1 for the butd route")
        if opts.precision == "bf16" and not native_bf16():
            raise ConfigError("--precision bf16: this CPU has no native bf16 (AVX512-BF16 or "
                              "AMX), where it runs 10-30x slower than fp32; use fp32")
        self.opts = opts
        self.model = load_detector(opts.weights)
        self.feat_dim = self.model.spec.feat_dim
        self.autocast = torch.bfloat16 if opts.precision == "bf16" else None

    @torch.inference_mode()
    def outputs(self, pixels: np.ndarray) -> tuple[ButdOutputs, tuple[float, float]]:
        """Every stage for one (H, W, 3) uint8 RGB image, and the (y, x) scale from detector
        input to raw pixels."""
        image, scale_yx = preprocess(pixels, self.opts.min_size, self.opts.max_size)
        context = (torch.autocast("cpu", dtype=self.autocast) if self.autocast
                   else nullcontext())
        with context:
            out = self.model(image, self.opts.pre_nms_proposals, self.opts.proposals)
        return out, scale_yx

    def regions(self, pixels: np.ndarray) -> ButdRegions:
        out, (sy, sx) = self.outputs(pixels)
        return select_regions(out, (sy, sx), self.opts)

    def record(self, image_id: str, pixels: np.ndarray) -> ImageRecord:
        r = self.regions(pixels)
        height, width = pixels.shape[:2]
        extras = {"conf": r.conf, "obj_label": r.obj_label, "attr_label": r.attr_label,
                  "attr_conf": r.attr_conf}
        return ImageRecord(image_id, r.feat, xyxy_to_box7(r.boxes, width, height),
                           r.soft_labels, extras)


def native_bf16() -> bool:
    """Whether this CPU computes bf16 products in hardware (oneDNN's check)."""
    return bool(torch.backends.mkldnn.is_available()
                and torch.ops.mkldnn._is_mkldnn_bf16_supported())


@torch.inference_mode()
def select_regions(out: ButdOutputs, scale_yx: tuple[float, float],
                   opts: ExtractOptions) -> ButdRegions:
    """UNITER's regions among the proposals of `out` (`select.py` describes the rule)."""
    sy, sx = scale_yx
    raw = out.proposals.float() * torch.tensor([sx, sy, sx, sy], dtype=torch.float32)
    probs = torch.softmax(out.obj_logits.float(), dim=-1)  # (R, C+1) background last
    conf = per_class_max_conf(raw, probs[:, :-1], opts.nms_iou)  # (R,)
    keep = keep_regions(conf.numpy(), opts.conf_threshold, opts.min_boxes, opts.max_boxes)
    if opts.region_order == "conf":
        keep = keep[np.argsort(-conf.numpy()[keep], kind="stable")]
    keep = torch.from_numpy(keep)
    probs = probs[keep]
    soft = torch.cat([probs[:, -1:], probs[:, :-1]], dim=1)  # background first
    attr = torch.softmax(out.attr_logits[keep].float()[:, :-1], dim=-1)  # (N, A)
    attr_conf, attr_label = attr.max(dim=-1)
    return ButdRegions(
        index=keep.numpy(), boxes=raw[keep].numpy(), feat=out.pooled[keep].float().numpy(),
        soft_labels=soft.numpy(), conf=conf[keep].numpy(),
        obj_label=(soft[:, 1:].argmax(dim=1) + 1).int().numpy(),
        attr_label=attr_label.int().numpy(), attr_conf=attr_conf.numpy())
