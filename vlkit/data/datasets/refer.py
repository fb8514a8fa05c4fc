"""Referring expressions: an expression, the candidate regions of its image, the referred box.

The image store holds the candidate regions: ground-truth object boxes (the record's
`target_region` indexes them) or a detector's boxes (any store; the target region for
training is then the region of highest IoU with `target_box`). Evaluation never uses the
target index: accuracy is the IoU of the picked region's box with `target_box`.
"""

from __future__ import annotations

import numpy as np
import torch

from vlkit.data.datasets.pair import PairDataset
from vlkit.data.examples import ReExample
from vlkit.metrics.refer import pairwise_box_iou
from vlkit.utils.errors import DataError


class ReDataset:
    """Wraps a PairDataset over a `refer` store; its `ReExample`s add re_target (int region
    index) and target_box [x1, y1, x2, y2].

    use_target_region: trust the records' `target_region` (True for ground-truth region
        stores); False picks the region of highest IoU with `target_box` (detected regions).
    """

    def __init__(self, pairs: PairDataset, use_target_region: bool = True):
        self.pairs = pairs
        self.use_target_region = use_target_region
        self.lens = pairs.lens
        for rec in pairs.records:
            box = rec.get("target_box")
            if not isinstance(box, list) or len(box) != 4:
                raise DataError(f"{pairs.txt_store.path}: record '{rec['id']}' needs "
                                f"'target_box' [x1, y1, x2, y2], got {box!r}")

    def target(self, i: int, boxes) -> int:
        """Index of the region example i refers to, among `boxes` (N, 4+) (array or tensor)
        of its image."""
        rec = self.pairs.records[i]
        if self.use_target_region and "target_region" in rec:
            region = int(rec["target_region"])
            if not 0 <= region < len(boxes):
                raise DataError(f"{self.pairs.txt_store.path}: record '{rec['id']}' has "
                                f"target_region {region} but image '{rec['img_id']}' has "
                                f"{len(boxes)} regions")
            return region
        region_boxes = torch.tensor(np.asarray(boxes, dtype=np.float64)[:, :4])
        iou = pairwise_box_iou(torch.tensor([rec["target_box"]], dtype=torch.float64),
                               region_boxes)
        return int(iou[0].argmax())

    def lengths(self, epoch: int) -> list[int]:
        return self.lens

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int) -> ReExample:
        pair = self.pairs[i]
        return ReExample(pair=pair, re_target=self.target(i, pair.img_pos_feat),
                         target_box=[float(v) for v in self.pairs.records[i]["target_box"]])
