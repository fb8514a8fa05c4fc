"""Which proposals become regions, as UNITER's features were made (the BUTD repository's
`generate_npz`): the regions are the RPN proposals themselves (not regressed), mapped to
raw-image pixels; for each foreground class, Caffe NMS over the proposals scored by that
class; a proposal's confidence is its best score among the classes where it survived; keep
the proposals with confidence >= threshold, at least `min_boxes` and at most `max_boxes`.
The confidences come from `boxes.per_class_max_conf`.
"""

from __future__ import annotations

import numpy as np


def keep_regions(conf: np.ndarray, threshold: float, min_boxes: int,
                 max_boxes: int) -> np.ndarray:
    """Indices of the kept proposals. Those with conf >= threshold, in proposal (index)
    order, when there are between min_boxes and max_boxes of them; otherwise the min_boxes
    (or max_boxes) most confident, most confident first (generate_npz's rule)."""
    conf = np.asarray(conf)
    above = np.flatnonzero(conf >= threshold)
    if min_boxes <= len(above) <= max_boxes:
        return above
    count = min_boxes if len(above) < min_boxes else max_boxes
    return np.argsort(-conf, kind="stable")[:count]
