"""The synthetic world's fixed pixel backbone: region features from pixels only.

It plays the part of a frozen detector backbone. For each box:
  1. crop the box and resample it to 16x16 pixels (nearest neighbour);
  2. conv features: the crop's 4x4 grid of non-overlapping 4x4x3 patches, each projected by
     12 fixed random filters and passed through ReLU -> 16 * 12 = 192 values;
  3. a colour histogram: 4 levels per channel, 64 joint RGB bins, square-rooted fractions;
  4. the 256 raw values times a fixed random matrix with orthonormal columns (rows when
     `feat_dim` > 256), so features are dense and `feat_dim` is configurable.
All weights come from `FEATURE_SEED`, never from a world's seed: every world shares one
backbone. Nothing but pixels enters, so no attribute one-hot can leak into a feature.

It sits below both the synthetic world (vlkit.data.synthetic, which builds its image store with
it) and extraction (`vlkit extract --route boxes --backbone synthetic`), and imports neither.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

FEATURE_SEED = 20241122
CROP = 16
PATCH = 4
NUM_FILTERS = 12
HIST_LEVELS = 4
RAW_DIM = (CROP // PATCH) ** 2 * NUM_FILTERS + HIST_LEVELS ** 3  # 256
FEATURE_SCALE = 4.0  # brings the features to roughly unit standard deviation


class FeatureExtractor:
    """Fixed pixel -> feature map shared by every synthetic world (see module docstring)."""

    def __init__(self, feat_dim: int = 256):
        if feat_dim < 1:
            raise ValueError(f"feat_dim must be positive, got {feat_dim}")
        self.feat_dim = feat_dim
        rng = np.random.default_rng(FEATURE_SEED)
        patch_dim = PATCH * PATCH * 3
        self.filters = rng.normal(0, 1 / np.sqrt(patch_dim), (patch_dim, NUM_FILTERS))
        self.bias = rng.normal(0, 0.1, NUM_FILTERS)
        big, small = max(RAW_DIM, feat_dim), min(RAW_DIM, feat_dim)
        q, _ = np.linalg.qr(rng.normal(size=(big, small)))
        self.projection = q if feat_dim <= RAW_DIM else q.T  # (RAW, D) float64

    def crops(self, images: np.ndarray, image_index: np.ndarray,
              boxes: np.ndarray) -> np.ndarray:
        """(M, 16, 16, 3) float32 in [-0.5, 0.5]: each box of images[image_index] resampled."""
        steps = (np.arange(CROP, dtype=np.float32) + 0.5) / CROP  # (16,)
        x = boxes[:, 0:1] + steps[None] * (boxes[:, 2:3] - boxes[:, 0:1])  # (M, 16)
        y = boxes[:, 1:2] + steps[None] * (boxes[:, 3:4] - boxes[:, 1:2])
        xi = np.clip(x.astype(np.int64), 0, images.shape[2] - 1)
        yi = np.clip(y.astype(np.int64), 0, images.shape[1] - 1)
        pix = images[image_index[:, None, None], yi[:, :, None], xi[:, None, :]]  # (M,16,16,3)
        return pix.astype(np.float32) / 255.0 - 0.5

    def __call__(self, images: np.ndarray, image_index: np.ndarray,
                 boxes: np.ndarray) -> np.ndarray:
        """Features (M, feat_dim) float32 of boxes (M, 4) pixel xyxy in images (B, H, W, 3).

        Computed in float64 so that BLAS thread counts and batch sizes (which change the
        order of summation) cannot change the float16 values a store keeps.
        """
        crop = self.crops(images, image_index, boxes).astype(np.float64)
        m, g = crop.shape[0], CROP // PATCH
        patches = crop.reshape(m, g, PATCH, g, PATCH, 3).transpose(0, 1, 3, 2, 4, 5)
        patches = patches.reshape(m, g * g, PATCH * PATCH * 3)
        conv = np.maximum(patches @ self.filters + self.bias, 0.0).reshape(m, -1)  # (M, 192)
        level = np.clip(((crop + 0.5) * HIST_LEVELS).astype(np.int64), 0, HIST_LEVELS - 1)
        bins = (level[..., 0] * HIST_LEVELS + level[..., 1]) * HIST_LEVELS + level[..., 2]
        flat = bins.reshape(m, -1) + np.arange(m)[:, None] * HIST_LEVELS ** 3
        hist = np.bincount(flat.ravel(), minlength=m * HIST_LEVELS ** 3).reshape(m, -1)
        hist = np.sqrt(hist / float(CROP * CROP))  # (M, 64)
        raw = np.concatenate([conv, hist], axis=1)  # (M, 256)
        return (FEATURE_SCALE * (raw @ self.projection)).astype(np.float32)


@lru_cache(maxsize=4)
def get_extractor(feat_dim: int = 256) -> FeatureExtractor:
    """The shared extractor for `feat_dim` (built once per process)."""
    return FeatureExtractor(feat_dim)
