"""`vlkit extract --images DIR --out STORE [--route grid|boxes|detector|butd] [...]`: region
features of a folder of JPEG/PNG images, written as a vlkit native image store.

Resumable: re-running the same command after an interruption continues where it stopped.
Unreadable images are skipped and listed at the end (and in the store's manifest).
See docs/extraction.md.
"""

from __future__ import annotations

import argparse
import sys
import time

from vlkit.extract.options import (
    BOX_FORMATS,
    DETECTORS,
    LAYERS,
    OUT_FORMATS,
    PRECISIONS,
    REGION_ORDERS,
    ROUTES,
    ExtractOptions,
)

DEFAULTS = ExtractOptions()


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("extract", help="region features of a folder of images -> image store")
    p.add_argument("--images", required=True, metavar="DIR", help="folder of JPEG/PNG images "
                   "(recursive; an image's id is its path below DIR without the extension)")
    p.add_argument("--out", required=True, metavar="STORE", help="image store to write")
    p.add_argument("--route", choices=ROUTES, default=DEFAULTS.route,
                   help=f"how regions are found (default {DEFAULTS.route})")
    p.add_argument("--backbone", default=DEFAULTS.backbone, metavar="NAME",
                   help="boxes/grid routes: resnet18|34|50|101|152, or synthetic (the synthetic "
                   f"world's pixel extractor; boxes route) (default {DEFAULTS.backbone})")
    p.add_argument("--weights", default="", metavar="FILE",
                   help="weights file: torchvision ResNet state dict (boxes/grid), torchvision "
                   "Faster R-CNN state dict (detector), or the bottom-up-attention VG Faster "
                   "R-CNN (butd: unc-nlp/frcnn-vg-finetuned pytorch_model.bin or "
                   "faster_rcnn_from_caffe*.pkl); nothing is downloaded")
    p.add_argument("--boxes", default=None, metavar="FILE",
                   help="boxes route: JSON {image_id: [[x1, y1, x2, y2], ...]} in pixels")
    p.add_argument("--box-format", choices=BOX_FORMATS, default=DEFAULTS.box_format,
                   help="how --boxes writes a box (xywh: COCO's [x, y, w, h])")
    p.add_argument("--layer", choices=LAYERS, default=DEFAULTS.layer,
                   help="ResNet feature map: c4 (stride 16) or c5 (stride 32)")
    p.add_argument("--grid", type=int, default=DEFAULTS.grid, metavar="G",
                   help="grid route: G x G cells (0: the feature map's own cells)")
    p.add_argument("--pool", type=int, default=DEFAULTS.pool, metavar="P",
                   help="boxes route: RoIAlign output size, averaged")
    p.add_argument("--sampling-ratio", type=int, default=DEFAULTS.sampling_ratio, metavar="S",
                   help="boxes route: RoIAlign samples per bin and axis")
    p.add_argument("--min-size", type=int, default=DEFAULTS.min_size, metavar="N",
                   help="scale the shorter image side to N (0: keep; boxes/grid; "
                   "butd: 600 as in the released features)")
    p.add_argument("--max-size", type=int, default=DEFAULTS.max_size, metavar="N",
                   help="... unless the longer side would pass N")
    p.add_argument("--feat-dim", type=int, default=DEFAULTS.feat_dim, metavar="D",
                   help="synthetic backbone: feature size")
    p.add_argument("--detector", choices=DETECTORS, default=DEFAULTS.detector,
                   help="detector route: the torchvision architecture of --weights")
    p.add_argument("--conf-threshold", type=float, default=DEFAULTS.conf_threshold,
                   help="detector/butd routes: keep boxes with confidence >= this (UNITER: 0.2)")
    p.add_argument("--min-boxes", type=int, default=DEFAULTS.min_boxes, help="... at least")
    p.add_argument("--max-boxes", type=int, default=DEFAULTS.max_boxes, help="... at most")
    p.add_argument("--nms-iou", type=float, default=DEFAULTS.nms_iou,
                   help="detector/butd routes: per-class NMS IoU before confidences are taken")
    p.add_argument("--proposals", type=int, default=DEFAULTS.proposals, metavar="N",
                   help=f"detector/butd routes: RPN proposals (post-NMS) scored per image "
                   f"(default {DEFAULTS.proposals})")
    p.add_argument("--pre-nms-proposals", type=int, default=DEFAULTS.pre_nms_proposals,
                   metavar="N", help="butd route: best anchors entering the RPN's NMS "
                   f"(default {DEFAULTS.pre_nms_proposals})")
    p.add_argument("--region-order", choices=REGION_ORDERS, default=DEFAULTS.region_order,
                   help="butd route: kept regions in proposal order (as UNITER's files; the "
                   "most confident first when --min/--max-boxes cut) or by confidence")
    p.add_argument("--precision", choices=PRECISIONS, default=DEFAULTS.precision,
                   help="butd route: bf16 runs the convolutions under CPU bf16 autocast (~4x "
                   "faster where the CPU has AVX512-BF16/AMX; features within ~0.3%% of fp32)")
    p.add_argument("--shard-size", type=int, default=64, metavar="N",
                   help="images per resumable shard (default 64)")
    p.add_argument("--work-dir", default=None, metavar="DIR",
                   help="where unfinished shards live (default: .STORE.extract beside STORE)")
    p.add_argument("--threads", type=int, default=0, metavar="N",
                   help="torch threads (0: torch's default)")
    p.add_argument("--format", dest="out_format", choices=OUT_FORMATS, default="native",
                   help="native: a vlkit image store; uniter: a UNITER img_db (feat_th*_max*_min* "
                   "LMDB + nbb json, keys '<id>.npz') that UNITER's own reader opens")
    p.add_argument("--overwrite", action="store_true", help="replace STORE if it exists")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def options_from_args(args: argparse.Namespace) -> ExtractOptions:
    return ExtractOptions(
        route=args.route, backbone=args.backbone, weights=args.weights, layer=args.layer,
        grid=args.grid, pool=args.pool, sampling_ratio=args.sampling_ratio,
        min_size=args.min_size, max_size=args.max_size,
        feat_dim=args.feat_dim, box_format=args.box_format, detector=args.detector,
        conf_threshold=args.conf_threshold, min_boxes=args.min_boxes, max_boxes=args.max_boxes,
        nms_iou=args.nms_iou, proposals=args.proposals,
        pre_nms_proposals=args.pre_nms_proposals, region_order=args.region_order,
        precision=args.precision,
    ).validate()


def run(args: argparse.Namespace) -> int:
    from vlkit.utils.output_lock import claim_output

    with claim_output(args.out, "extract"):  # one writer per output
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    import torch
    from tqdm import tqdm

    from vlkit.extract.job import run_extraction

    if args.threads:
        torch.set_num_threads(args.threads)
    opts = options_from_args(args)
    start = time.perf_counter()
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if args.no_progress:
            return
        if bar is None:
            bar = tqdm(total=total, initial=done, unit="img", desc="extract", file=sys.stderr)
        bar.update(done - bar.n)

    try:
        result = run_extraction(args.images, args.out, opts, boxes_file=args.boxes,
                                work_dir=args.work_dir, shard_size=args.shard_size,
                                overwrite=args.overwrite, progress=progress,
                                out_format=args.out_format)
    finally:
        if bar is not None:
            bar.close()
    resumed = f", {result.resumed} done by an earlier run" if result.resumed else ""
    print(f"wrote {result.out}: {result.num_images} images, {result.num_regions} regions, "
          f"feat_dim {result.feat_dim}{resumed} ({time.perf_counter() - start:.1f}s)")
    if result.skipped:
        print(f"skipped {len(result.skipped)} unreadable image(s):")
        for item in result.skipped:
            print(f"  {item['error']}")
    return 0
