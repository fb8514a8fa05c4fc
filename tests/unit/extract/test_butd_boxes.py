"""The BUTD box ops against literal, one-element-at-a-time transcriptions of the kernels they
replace (torchvision's CPU RoIPool and nms, Caffe's py_cpu_nms), on awkward boxes."""

from __future__ import annotations

import math

import numpy as np
import torch

from vlkit.extract.butd.boxes import nms, per_class_max_conf, roi_pool
from vlkit.extract.butd.select import keep_regions


def roi_pool_loops(feat: torch.Tensor, boxes: torch.Tensor, scale: float,
                   size: int) -> torch.Tensor:
    """torchvision's roi_pool_forward_kernel_impl (CPU), written out."""
    channels, height, width = feat.shape
    out = torch.zeros(len(boxes), channels, size, size)
    f32 = np.float32
    for n, (x1, y1, x2, y2) in enumerate(boxes.tolist()):
        def cround(v: float) -> int:
            v = float(f32(v) * f32(scale))
            return int(math.copysign(math.floor(abs(v) + 0.5), v))
        sw, sh, ew, eh = cround(x1), cround(y1), cround(x2), cround(y2)
        bin_h = f32(max(eh - sh + 1, 1)) / f32(size)
        bin_w = f32(max(ew - sw + 1, 1)) / f32(size)
        for ph in range(size):
            for pw in range(size):
                hs = min(max(int(math.floor(f32(ph) * bin_h)) + sh, 0), height)
                he = min(max(int(math.ceil(f32(ph + 1) * bin_h)) + sh, 0), height)
                ws = min(max(int(math.floor(f32(pw) * bin_w)) + sw, 0), width)
                we = min(max(int(math.ceil(f32(pw + 1) * bin_w)) + sw, 0), width)
                if he > hs and we > ws:
                    out[n, :, ph, pw] = feat[:, hs:he, ws:we].amax(dim=(1, 2))
    return out


def caffe_nms_loops(boxes: np.ndarray, scores: np.ndarray, thresh: float) -> list[int]:
    """py_cpu_nms with the fixture's rule (drop when overlap >= thresh), stable order."""
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = list(np.argsort(-scores, kind="stable"))
    keep = []
    while order:
        i, order = order[0], order[1:]
        keep.append(i)
        rest = []
        for j in order:
            w = max(0.0, min(x2[i], x2[j]) - max(x1[i], x1[j]) + 1)
            h = max(0.0, min(y2[i], y2[j]) - max(y1[i], y1[j]) + 1)
            inter = w * h
            if inter / (areas[i] + areas[j] - inter) < thresh:
                rest.append(j)
        order = rest
    return keep


def awkward_boxes(n: int, seed: int) -> torch.Tensor:
    """Boxes inside, across and outside a 20 x 30 map at stride 16, some thinner than a cell,
    some with edges on .5 (rounding)."""
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * torch.tensor([560.0, 380.0]) - 40
    wh = torch.rand(n, 2, generator=g) ** 3 * 300
    boxes = torch.cat([xy, xy + wh], dim=1)
    boxes[:4] = torch.tensor([[8.0, 8.0, 24.0, 24.0], [-100.0, -50.0, -20.0, -10.0],
                              [470.0, 300.0, 900.0, 700.0], [0.0, 0.0, 479.0, 319.0]])
    return boxes


def test_roi_pool_equals_torchvision_kernel():
    feat = torch.randn(3, 20, 30, generator=torch.Generator().manual_seed(0))
    boxes = awkward_boxes(40, 1)
    ours = roi_pool(feat, boxes, 1 / 16, 7)
    torch.testing.assert_close(ours, roi_pool_loops(feat, boxes, 1 / 16, 7), rtol=0, atol=0)
    assert (ours[1] == 0).all()  # a box outside the map: every bin empty


def test_rpn_nms_keeps_torchvision_order_and_limit():
    boxes = awkward_boxes(60, 2).clamp(min=0)
    boxes[:, 2:] = torch.maximum(boxes[:, 2:], boxes[:, :2] + 1)
    scores = torch.rand(60, generator=torch.Generator().manual_seed(3))
    kept = nms(boxes, scores, 0.5, limit=1000)
    expected, order = [], torch.argsort(scores, descending=True, stable=True).tolist()
    for i in order:
        b = boxes[i]
        ok = True
        for j in expected:
            c = boxes[j]
            w = max(0.0, float(min(b[2], c[2]) - max(b[0], c[0])))
            h = max(0.0, float(min(b[3], c[3]) - max(b[1], c[1])))
            area_b = float((b[2] - b[0]) * (b[3] - b[1]))
            area_c = float((c[2] - c[0]) * (c[3] - c[1]))
            if w * h / (area_b + area_c - w * h) > 0.5:
                ok = False
        if ok:
            expected.append(i)
    assert kept.tolist() == expected
    assert nms(boxes, scores, 0.5, limit=3).tolist() == expected[:3]


def test_batched_per_class_nms_equals_one_nms_per_class():
    gen = torch.Generator().manual_seed(4)
    boxes = awkward_boxes(50, 5).clamp(min=0)
    scores = torch.softmax(torch.randn(50, 30, generator=gen) * 3, dim=1)
    conf = per_class_max_conf(boxes, scores, 0.3)
    expected = np.zeros(50, dtype=np.float32)
    for c in range(30):
        s = scores[:, c].numpy()
        keep = caffe_nms_loops(boxes.numpy(), s, 0.3)
        expected[keep] = np.maximum(expected[keep], s[keep])
    np.testing.assert_array_equal(conf.numpy(), expected)


def test_keep_rule_orders():
    conf = np.array([0.1, 0.9, 0.3, 0.05, 0.5, 0.25])
    assert keep_regions(conf, 0.2, 2, 10).tolist() == [1, 2, 4, 5]  # index order
    assert keep_regions(conf, 0.2, 5, 10).tolist() == [1, 4, 2, 5, 0]  # too few: by conf
    assert keep_regions(conf, 0.2, 1, 3).tolist() == [1, 4, 2]  # too many: by conf
    assert keep_regions(conf, 0.2, 36, 36).tolist() == [1, 4, 2, 5, 0, 3]  # all there are
