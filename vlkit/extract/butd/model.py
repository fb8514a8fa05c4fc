"""The bottom-up-attention Faster R-CNN (ResNet C4, Visual Genome classes and attributes) in
plain torch, with detectron2's parameter names (py-bottom-up-attention / the Hugging Face
`unc-nlp/frcnn-vg-finetuned` port), so either released weights file loads by a key copy.

    image (1, 3, H, W) BGR minus means
      -> backbone: stem, res2..res4                      -> res4 (1, C4, H/16, W/16)
      -> proposal_generator: RPN (12 anchors per cell)   -> proposals (R, 4) xyxy pixels
      -> roi_heads: RoIPool 14x14 -> res5 (stride 1, dilation 2) -> mean -> pooled (R, D)
      -> box_predictor: class logits (R, C+1; background LAST), box deltas (R, 4C),
         attribute logits (R, A+1) from [pooled, embedding of the argmax class]

Sizes (depth, widths, classes, attributes) are a `ButdSpec` read from the weights
(`vlkit.extract.butd.weights.spec_from_state`), so any depth/width of this family loads.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vlkit.extract.butd.boxes import apply_deltas, cell_anchors, grid_anchors, nms, roi_pool
from vlkit.extract.butd.layers import Stem, make_stage

STRIDE = 16  # res4 is 1/16 of the input
POOL = 14  # RoIPool output size
HEAD_CHUNK = 50  # RoIs per res5 call: all 300 at once ran 1.6x slower in fp32
RPN_WEIGHTS = (1.0, 1.0, 1.0, 1.0)
BOX_WEIGHTS = (10.0, 10.0, 5.0, 5.0)


@dataclass(frozen=True)
class ButdSpec:
    """Architecture sizes; defaults are the released ResNet-101 VG model."""

    blocks: tuple[int, int, int, int] = (3, 4, 23, 3)  # res2..res5 bottlenecks
    stem: int = 64  # stem channels
    width: int = 64  # res2 bottleneck width (doubles per stage)
    res2_out: int = 256  # res2 output channels (doubles per stage)
    rpn_hidden: int = 512
    num_anchors: int = 12
    num_classes: int = 1600  # foreground classes (the logits have one more: background)
    num_attrs: int = 400  # attributes (the logits have one more)
    embed: int = 256  # class embedding size of the attribute head
    attr_hidden: int = 512

    @property
    def feat_dim(self) -> int:
        return self.res2_out * 8  # res5 output channels


class Backbone(nn.Module):
    """Stem and res2..res4: (1, 3, H, W) -> res4 (1, res2_out * 4, H/16, W/16)."""

    def __init__(self, spec: ButdSpec):
        super().__init__()
        self.stem = Stem(spec.stem)
        w, out = spec.width, spec.res2_out
        self.res2 = make_stage(spec.blocks[0], spec.stem, w, out, stride=1)
        self.res3 = make_stage(spec.blocks[1], out, w * 2, out * 2, stride=2)
        self.res4 = make_stage(spec.blocks[2], out * 2, w * 4, out * 4, stride=2)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.res4(self.res3(self.res2(self.stem(image))))


class RPNHead(nn.Module):
    """3x3 conv + ReLU, then per-anchor objectness logits and box deltas."""

    def __init__(self, cin: int, hidden: int, anchors: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, hidden, 3, padding=1)
        self.objectness_logits = nn.Conv2d(hidden, anchors, 1)
        self.anchor_deltas = nn.Conv2d(hidden, anchors * 4, 1)

    def forward(self, res4: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t = F.relu(self.conv(res4))  # (1, hidden, h, w)
        logits = self.objectness_logits(t)[0].permute(1, 2, 0).reshape(-1)  # (h*w*A,)
        deltas = self.anchor_deltas(t)[0]  # (A*4, h, w)
        deltas = deltas.view(-1, 4, *deltas.shape[1:]).permute(2, 3, 0, 1).reshape(-1, 4)
        return logits, deltas  # (h*w*A,), (h*w*A, 4): ordered (y, x, anchor)


class AnchorGenerator(nn.Module):
    """Holds the 12 cell anchors (a saved buffer in the weights files: `cell_anchors.0`)."""

    def __init__(self):
        super().__init__()
        self.cell_anchors = nn.ParameterList([nn.Parameter(cell_anchors(), requires_grad=False)])

    def forward(self, height: int, width: int) -> torch.Tensor:  # -> (h*w*A, 4)
        return grid_anchors(self.cell_anchors[0], height, width, STRIDE)


class RPN(nn.Module):
    """Proposals: decode every anchor, keep the `pre_nms` best by objectness, clip to the
    image, drop empty boxes, NMS 0.7, keep the `post_nms` best (detectron2's inference)."""

    def __init__(self, spec: ButdSpec):
        super().__init__()
        self.rpn_head = RPNHead(spec.res2_out * 4, spec.rpn_hidden, spec.num_anchors)
        self.anchor_generator = AnchorGenerator()

    @torch.autocast("cpu", enabled=False)  # fp32 even under autocast (see ButdDetector)
    def forward(self, res4: torch.Tensor, image_hw: tuple[int, int], pre_nms: int,
                post_nms: int, nms_iou: float = 0.7) -> tuple[torch.Tensor, torch.Tensor]:
        logits, deltas = self.rpn_head(res4.float())
        anchors = self.anchor_generator(res4.shape[2], res4.shape[3])
        logits, order = logits.sort(descending=True)
        top = order[:pre_nms]
        boxes = apply_deltas(deltas[top], anchors[top], RPN_WEIGHTS)  # (P, 4)
        logits = logits[:pre_nms]
        h, w = image_hw
        boxes = torch.stack([boxes[:, 0].clamp(0, w), boxes[:, 1].clamp(0, h),
                             boxes[:, 2].clamp(0, w), boxes[:, 3].clamp(0, h)], dim=1)
        nonempty = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        boxes, logits = boxes[nonempty], logits[nonempty]
        keep = nms(boxes, logits, nms_iou, post_nms)
        logits, order = logits[keep].sort(descending=True)
        return boxes[keep][order], logits  # (R, 4) resized-image pixels, (R,)


class BoxPredictor(nn.Module):
    """Class logits, class-specific box deltas and attribute logits of pooled features."""

    def __init__(self, spec: ButdSpec):
        super().__init__()
        d = spec.feat_dim
        self.cls_score = nn.Linear(d, spec.num_classes + 1)
        self.bbox_pred = nn.Linear(d, spec.num_classes * 4)
        self.cls_embedding = nn.Embedding(spec.num_classes + 1, spec.embed)
        self.fc_attr = nn.Linear(d + spec.embed, spec.attr_hidden)
        self.attr_score = nn.Linear(spec.attr_hidden, spec.num_attrs + 1)

    @torch.autocast("cpu", enabled=False)  # fp32 even under autocast (see ButdDetector)
    def forward(self, pooled: torch.Tensor) -> tuple[torch.Tensor, ...]:
        pooled = pooled.float()  # (R, D)
        scores = self.cls_score(pooled)  # (R, C+1), background last
        deltas = self.bbox_pred(pooled)  # (R, 4C)
        embed = self.cls_embedding(scores.argmax(-1))  # (R, E): the predicted class
        hidden = F.relu(self.fc_attr(torch.cat([pooled, embed], dim=-1)))
        return scores, self.attr_score(hidden), deltas  # ..., (R, A+1) background last


class RoIHeads(nn.Module):
    """RoIPool every proposal, res5 over them in batches of HEAD_CHUNK, mean-pool, predict."""

    def __init__(self, spec: ButdSpec):
        super().__init__()
        cin, d = spec.res2_out * 4, spec.feat_dim
        self.res5 = make_stage(spec.blocks[3], cin, spec.width * 8, d, stride=1, dilation=2)
        self.box_predictor = BoxPredictor(spec)

    def crop(self, res4: torch.Tensor, proposals: torch.Tensor) -> torch.Tensor:
        """(R, C4, 14, 14) RoIPool of res4 (1, C4, h, w) at proposals (R, 4) (input pixels)."""
        return roi_pool(res4[0], proposals, 1.0 / STRIDE, POOL)

    def head(self, crops: torch.Tensor) -> torch.Tensor:
        """(R, D) pooled features: res5 over the crops (R, C4, 14, 14), HEAD_CHUNK RoIs per
        call (batched, but without the ~0.5 GB activations of one 300-RoI call), then the
        spatial mean."""
        chunks = [self.res5(_bf16_layout(crops[i:i + HEAD_CHUNK])).float().mean(dim=(2, 3))
                  for i in range(0, len(crops), HEAD_CHUNK)]
        return torch.cat(chunks) if chunks else crops.new_zeros(0, self.res5[-1].conv3.out_channels)

    def pool(self, res4: torch.Tensor, proposals: torch.Tensor) -> torch.Tensor:
        """(R, D) pooled features of proposals (R, 4) in resized-image pixels."""
        return self.head(self.crop(res4, proposals))


def _bf16_layout(x: torch.Tensor) -> torch.Tensor:
    """Channels-last under CPU bf16 autocast, where oneDNN's convolutions are ~2x faster in
    that layout; fp32 convolutions here are faster in the default layout (measured, res5 over
    40 RoIs, one thread: fp32 1.8 s default vs 2.1 s channels-last; bf16 0.8 s vs 0.4 s)."""
    if torch.is_autocast_enabled("cpu"):
        return x.to(memory_format=torch.channels_last)
    return x.contiguous()


@dataclass
class ButdOutputs:
    """Every stage of one image. R proposals; boxes in resized-image pixels."""

    res4_shape: tuple[int, ...]
    proposals: torch.Tensor  # (R, 4)
    rpn_logits: torch.Tensor  # (R,)
    pooled: torch.Tensor  # (R, D)
    obj_logits: torch.Tensor  # (R, C+1), background last
    attr_logits: torch.Tensor  # (R, A+1), background last
    box_deltas: torch.Tensor  # (R, 4C)

    def regressed_boxes(self) -> torch.Tensor:
        """(R, C, 4) class-specific regressed boxes (not used by UNITER's selection)."""
        boxes = apply_deltas(self.box_deltas, self.proposals, BOX_WEIGHTS)
        return boxes.view(len(boxes), -1, 4)


class ButdDetector(nn.Module):
    """The whole detector; `forward` runs every stage on one preprocessed image.

    Under CPU bf16 autocast only the res5 head (90% of the FLOPs) runs in bf16. The backbone,
    the RPN and the predictor stay fp32: a bf16 backbone (0.9% relative error in res4) moved
    the RPN's ranks and so the proposals themselves, and the keep rule's probabilities need
    the precision; kept fp32, the regions are the fp32 ones and only their features move."""

    def __init__(self, spec: ButdSpec):
        super().__init__()
        self.spec = spec
        self.backbone = Backbone(spec)
        self.proposal_generator = RPN(spec)
        self.roi_heads = RoIHeads(spec)

    @torch.autocast("cpu", enabled=False)  # fp32 even under autocast (see the class doc)
    def features(self, image: torch.Tensor) -> torch.Tensor:
        """res4 (1, C4, H/16, W/16) of a preprocessed image (1, 3, H, W)."""
        return self.backbone(image.float()).contiguous()

    def forward(self, image: torch.Tensor, pre_nms: int = 6000,
                post_nms: int = 300) -> ButdOutputs:
        """image (1, 3, H, W) BGR minus the Caffe means (`preprocess.preprocess`)."""
        res4 = self.features(image)  # (1, C4, H/16, W/16)
        proposals, logits = self.proposal_generator(res4, tuple(image.shape[2:]), pre_nms,
                                                    post_nms)
        pooled = self.roi_heads.pool(res4, proposals)
        obj, attr, deltas = self.roi_heads.box_predictor(pooled)
        return ButdOutputs(tuple(res4.shape), proposals, logits, pooled, obj, attr, deltas)
