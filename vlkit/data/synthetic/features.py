"""Regions and soft labels of a rendered scene (the features come from pixels only).

Regions: every object's box (jittered by up to 2 pixels) plus 1-3 distractor boxes (random
crops, like a detector's spurious proposals), in a random order.

Features: the fixed pixel backbone `vlkit.featurizers.synthetic` (shared with `vlkit extract
--route boxes --backbone synthetic`) pools each box's pixels, through the given-boxes code
(`vlkit.data.regions.box_records`).

Soft labels (for masked region classification) imitate a detector's class distribution over
background + the shapes: mostly the true class, mixed with Dirichlet noise.
"""

from __future__ import annotations

import numpy as np

from vlkit.data.synthetic.scene import IMAGE_SIZE, SHAPES, Scene

LABEL_NAMES = ("background", *SHAPES)  # soft-label classes; index 0 is background
BOX_JITTER = 2.0  # pixels
MIN_DISTRACTORS, MAX_DISTRACTORS = 1, 3


def region_boxes(scene: Scene, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Region boxes of a scene and the region index of each object.

    Returns boxes (N, 4) float32 pixel [x1, y1, x2, y2] and obj_region (K,) int64 such that
    boxes[obj_region[k]] is object k's (jittered) box.
    """
    obj = scene.boxes_xyxy() + rng.uniform(-BOX_JITTER, BOX_JITTER, size=(scene.num_objects, 4))
    d = int(rng.integers(MIN_DISTRACTORS, MAX_DISTRACTORS + 1))
    wh = rng.uniform(10.0, 40.0, size=(d, 2))
    xy = rng.uniform(0.0, 1.0, size=(d, 2)) * (IMAGE_SIZE - wh)
    boxes = np.concatenate([obj, np.concatenate([xy, xy + wh], axis=1)], axis=0)
    boxes = np.clip(boxes, 0.0, IMAGE_SIZE).astype(np.float32)
    order = rng.permutation(boxes.shape[0])
    obj_region = np.argsort(order)[: scene.num_objects]  # where each original row went
    return boxes[order], obj_region.astype(np.int64)


def soft_labels(region_class: np.ndarray, rng: np.random.Generator,
                confidence: float = 0.7) -> np.ndarray:
    """(N, C) class distributions; region_class (N,) holds 0 (background) or shape index + 1."""
    n, c = region_class.shape[0], len(LABEL_NAMES)
    noise = rng.dirichlet(np.ones(c), size=n)
    onehot = np.eye(c)[region_class]
    return (confidence * onehot + (1 - confidence) * noise).astype(np.float32)
