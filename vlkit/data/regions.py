"""Region records from pixels and known boxes: the `RegionFeaturizer` contract and
`box_records`, which pools every box through a featurizer and normalises boxes per UNITER.

One code path for the synthetic world's image store (vlkit.data.synthetic.world) and
`vlkit extract --route boxes` (vlkit.extract), so both give the same features for the same
pixels and boxes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from vlkit.data.records import ImageRecord, xyxy_to_box7


class RegionFeaturizer(Protocol):
    """images (B, H, W, 3) uint8, image_index (M,) int, boxes (M, 4) float32 pixel
    [x1, y1, x2, y2] in images[image_index] -> features (M, feat_dim) float32."""

    feat_dim: int

    def __call__(self, images: np.ndarray, image_index: np.ndarray,
                 boxes: np.ndarray) -> np.ndarray: ...


def box_records(ids: Sequence[str], images: np.ndarray, boxes: Sequence[np.ndarray],
                featurizer: RegionFeaturizer,
                soft_labels: Sequence[np.ndarray] | None = None) -> list[ImageRecord]:
    """One ImageRecord per image of `images` (B, H, W, 3) uint8.

    boxes[b]: (N_b, 4) float32 pixel [x1, y1, x2, y2] in image b; soft_labels[b]: (N_b, C)
    or None. All boxes of the batch go through the featurizer in one call.
    """
    owner = np.concatenate([np.full(len(b), i) for i, b in enumerate(boxes)])
    feat = featurizer(images, owner, np.concatenate(boxes))  # (sum N_b, D)
    height, width = images.shape[1:3]
    softs = soft_labels if soft_labels is not None else [None] * len(boxes)
    records, start = [], 0
    for image_id, xyxy, soft in zip(ids, boxes, softs, strict=True):
        n = xyxy.shape[0]
        records.append(ImageRecord(image_id, feat[start:start + n],
                                   xyxy_to_box7(xyxy, width, height), soft))
        start += n
    return records
