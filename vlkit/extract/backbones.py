"""Backbones of the `boxes` and `grid` routes.

Every backbone is a `RegionFeaturizer` (vlkit.data.regions): pixels of a batch of images
plus pixel boxes in them -> one feature vector per box. Two kinds:
  * `ResNetBackbone`: a torchvision-compatible ResNet's C4/C5 map, RoIAlign per box, the
    (pool x pool) output averaged; it also gives the whole map to the grid route;
  * the synthetic world's fixed pixel extractor
    (`vlkit.featurizers.synthetic.FeatureExtractor`), which pools crops of the pixels.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from vlkit.data.regions import RegionFeaturizer
from vlkit.extract.options import SYNTHETIC, ExtractOptions
from vlkit.extract.resnet import DEPTHS, ResNet
from vlkit.extract.roi_align import roi_align
from vlkit.extract.weights import load_into, read_state_dict
from vlkit.featurizers.synthetic import get_extractor
from vlkit.utils.errors import ConfigError

IMAGENET_MEAN = (0.485, 0.456, 0.406)  # the normalisation torchvision's ResNet weights expect
IMAGENET_STD = (0.229, 0.224, 0.225)


def resize_scale(height: int, width: int, min_size: int, max_size: int) -> float:
    """Scale so the shorter side becomes `min_size` (1 when 0) and the longer <= `max_size`."""
    scale = min_size / min(height, width) if min_size else 1.0
    return min(scale, max_size / max(height, width))


class ResNetBackbone:
    """A frozen ResNet (weights from a file) as a region featurizer and a feature-map source."""

    def __init__(self, opts: ExtractOptions):
        self.opts = opts
        self.net = ResNet(opts.backbone, opts.layer).eval()
        state = read_state_dict(opts.weights, opts.backbone)
        check_depth(state, opts)
        load_into(self.net, state, opts.weights, ignore_prefixes=("fc.",))
        self.feat_dim = self.net.out_channels
        self.mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
        self.std = torch.tensor(IMAGENET_STD).view(3, 1, 1)

    @torch.inference_mode()
    def feature_map(self, pixels: np.ndarray) -> tuple[torch.Tensor, float, float]:
        """(C, h, w) map of one image (H, W, 3) uint8, and the x and y resize factors."""
        height, width = pixels.shape[:2]
        scale = resize_scale(height, width, self.opts.min_size, self.opts.max_size)
        new_h, new_w = max(1, round(height * scale)), max(1, round(width * scale))
        x = torch.from_numpy(np.array(pixels, dtype=np.uint8)).permute(2, 0, 1).float() / 255.0
        if (new_h, new_w) != (height, width):
            x = F.interpolate(x[None], size=(new_h, new_w), mode="bilinear",
                              align_corners=False, antialias=scale < 1.0)[0]
        x = (x - self.mean) / self.std  # (3, new_h, new_w)
        return self.net(x[None])[0], new_w / width, new_h / height

    @torch.inference_mode()
    def __call__(self, images: np.ndarray, image_index: np.ndarray,
                 boxes: np.ndarray) -> np.ndarray:
        out = np.zeros((boxes.shape[0], self.feat_dim), dtype=np.float32)
        for b in np.unique(image_index):
            rows = np.flatnonzero(image_index == b)
            fmap, sx, sy = self.feature_map(images[b])
            scaled = torch.from_numpy(boxes[rows].astype(np.float32))
            scaled = scaled * torch.tensor([sx, sy, sx, sy])
            pooled = roi_align(fmap, scaled, self.opts.pool, 1.0 / self.net.stride,
                               self.opts.sampling_ratio, aligned=True)  # (m, C, P, P)
            out[rows] = pooled.mean(dim=(2, 3)).numpy()
        return out


def resnet_depth(state: dict[str, torch.Tensor]) -> str | None:
    """The ResNet (`resnet18` ... `resnet152`) whose blocks per stage and block kind the state
    dict's `layerN.M.*` keys show; None when they match none."""
    counts = [1 + max((int(k.split(".")[1]) for k in state if k.startswith(f"layer{i}.")),
                      default=-1) for i in range(1, 5)]
    kind = "bottleneck" if "layer1.0.conv3.weight" in state else "basic"
    return next((name for name, spec in DEPTHS.items() if spec == (kind, tuple(counts))), None)


def check_depth(state: dict[str, torch.Tensor], opts: ExtractOptions) -> None:
    """ConfigError naming the matching --backbone when the weights are another ResNet's."""
    found = resnet_depth(state)
    if found is not None and found != opts.backbone:
        raise ConfigError(f"--weights {opts.weights}: {found} weights (blocks per stage "
                          f"{list(DEPTHS[found][1])}), but --backbone is {opts.backbone}; "
                          f"pass --backbone {found}")


def build_featurizer(opts: ExtractOptions) -> RegionFeaturizer:
    """The backbone named by `opts.backbone` (weights read from `opts.weights`)."""
    if opts.backbone == SYNTHETIC:
        return get_extractor(opts.feat_dim)
    return ResNetBackbone(opts)
