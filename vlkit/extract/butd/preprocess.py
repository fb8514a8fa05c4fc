"""Pixels -> the detector's input, as the Caffe BUTD model expects them: the shorter side
scaled to `min_size` unless the longer would pass `max_size` (sizes rounded with
int(x + 0.5)), bilinear resize (align_corners=False) of the float image, RGB -> BGR, minus
the Caffe pixel means, no scaling (std 1)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

PIXEL_MEANS_BGR = (102.9801, 115.9465, 122.7717)


def resized_hw(height: int, width: int, min_size: int, max_size: int) -> tuple[int, int]:
    """(h, w) of the detector input for an image of height x width."""
    scale = min_size * 1.0 / min(height, width)
    if height < width:
        new_h, new_w = float(min_size), scale * width
    else:
        new_h, new_w = scale * height, float(min_size)
    if max(new_h, new_w) > max_size:
        shrink = max_size * 1.0 / max(new_h, new_w)
        new_h, new_w = new_h * shrink, new_w * shrink
    return int(new_h + 0.5), int(new_w + 0.5)


def preprocess(pixels: np.ndarray, min_size: int = 600,
               max_size: int = 1000) -> tuple[torch.Tensor, tuple[float, float]]:
    """(H, W, 3) uint8 RGB -> ((1, 3, h, w) float32 BGR minus means, (H / h, W / w)): the
    second item maps boxes back to raw-image pixels (y scale, x scale)."""
    height, width = pixels.shape[:2]
    h, w = resized_hw(height, width, min_size, max_size)
    image = torch.from_numpy(np.array(pixels, dtype=np.float32))  # (H, W, 3) RGB
    image = image.permute(2, 0, 1)[None]  # (1, 3, H, W)
    image = F.interpolate(image, size=(h, w), mode="bilinear", align_corners=False)
    image = image.flip(1)  # BGR
    means = torch.tensor(PIXEL_MEANS_BGR, dtype=torch.float32).view(1, 3, 1, 1)
    return (image - means).contiguous(), (height / h, width / w)
