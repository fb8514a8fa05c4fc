"""The two record kinds every store yields.

Boxes are 7-d, normalised by image size: [x1, y1, x2, y2, w, h, w*h] (UNITER's convention).
Text records are plain dicts with a string "id" plus task fields (see docs/formats.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# An image id "a+b" that no store holds as such names the regions of a followed by those of b
# (vlkit.data.datasets.pair.JoinedImage; UNITER's VCR reads a gt and a detected img_db so).
JOIN = "+"


@dataclass
class ImageRecord:
    """Region features of one image.

    feat: (N, D) float16/float32 region features.
    boxes: (N, 7) float32 normalised boxes [x1, y1, x2, y2, w, h, w*h].
    soft_labels: (N, C) detector class distribution (for MRC), or None.
    extras: any other per-region arrays (e.g. "conf": (N,)), each with N rows.
    """

    id: str
    feat: np.ndarray
    boxes: np.ndarray
    soft_labels: np.ndarray | None = None
    extras: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def num_boxes(self) -> int:
        return int(self.feat.shape[0])


def box6_to_box7(box6: np.ndarray) -> np.ndarray:
    """UNITER stores [x1, y1, x2, y2, w, h]; the model reads a 7th column w*h."""
    box6 = np.asarray(box6, dtype=np.float32)
    return np.concatenate([box6, box6[:, 4:5] * box6[:, 5:6]], axis=1)


def xyxy_to_box7(xyxy: np.ndarray, width: float, height: float) -> np.ndarray:
    """Pixel boxes (N, 4) -> normalised 7-d boxes, clipped to the image."""
    xyxy = np.asarray(xyxy, dtype=np.float32).reshape(-1, 4)
    scale = np.array([width, height, width, height], dtype=np.float32)
    norm = np.clip(xyxy / scale, 0.0, 1.0)
    w = norm[:, 2] - norm[:, 0]
    h = norm[:, 3] - norm[:, 1]
    return np.concatenate([norm, w[:, None], h[:, None], (w * h)[:, None]], axis=1)
