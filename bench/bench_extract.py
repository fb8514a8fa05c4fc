"""Speed of the butd extraction route (the full ResNet-101 VG detector); prints ONE JSON object.

The model is the released architecture with the reference fixture's seeded weights
(../shared/fixtures/butd_frcnn/seeded_weights.py; speed does not depend on the values), the
image the fixture's photograph resized to --width x --height (600 x 1000 by default: the
detector input is then 600 x 1000, the largest a 600/1000 resize produces).

For each precision (fp32; bf16 autocast where the CPU has native bf16: AVX512-BF16 or AMX,
as `--precision bf16` runs it: the res5 head in bf16, the rest in fp32) it reports, as
medians over --repeats runs after one warm-up:
  seconds per stage    preprocess, backbone (stem..res4), rpn (head, decoding, NMS),
                       roi_pool, res5_head (res5 over all proposals + mean), predictor,
                       selection (per-class NMS over 1600 classes, keep rule)
  images_per_s         1 / the sum of the stages (one image at a time, as the CLI runs)
  flops_per_image      torch.utils.flop_counter.FlopCounterMode over the network
  mfu                  achieved FLOP/s over the best rate of an n x n x n matmul measured
                       just before, in the same precision
and, for bf16, how far its features are from fp32 on the same proposals.

Usage: OMP_NUM_THREADS=1 python bench/bench_extract.py [--threads 1] [--repeats 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from machine_info import cpu_isa, describe_machine, matmul_peak
from PIL import Image

from vlkit.extract.butd.boxes import per_class_max_conf
from vlkit.extract.butd.model import ButdDetector, ButdSpec
from vlkit.extract.butd.preprocess import preprocess
from vlkit.extract.butd.select import keep_regions

FIXTURE = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "butd_frcnn"
STAGES = ("preprocess", "backbone", "rpn", "roi_pool", "res5_head", "predictor", "selection")


def seeded_model(fixture: Path) -> ButdDetector:
    """The released architecture with the fixture's deterministic weights."""
    spec = importlib.util.spec_from_file_location("seeded_weights", fixture / "seeded_weights.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = ButdDetector(ButdSpec()).eval()
    model.load_state_dict(module.seeded_state_dict(model))
    return model


def timed_stages(model: ButdDetector, pixels: np.ndarray,
                 dtype: torch.dtype | None) -> tuple[dict[str, float], dict[str, torch.Tensor]]:
    """Seconds of each stage of one image, the same calls ButdDetector.forward makes."""
    seconds, out = {}, {}

    def stage(name: str, fn):
        start = time.perf_counter()
        result = fn()
        seconds[name] = time.perf_counter() - start
        return result

    with torch.inference_mode(), torch.autocast("cpu", dtype=dtype or torch.bfloat16,
                                                enabled=dtype is not None):
        image, (sy, sx) = stage("preprocess", lambda: preprocess(pixels, 600, 1000))
        res4 = stage("backbone", lambda: model.features(image))
        rpn = model.proposal_generator
        proposals, _ = stage("rpn", lambda: rpn(res4, tuple(image.shape[2:]), 6000, 300))
        heads = model.roi_heads
        pooled_map = stage("roi_pool", lambda: heads.crop(res4, proposals))
        pooled = stage("res5_head", lambda: heads.head(pooled_map))
        obj, _, _ = stage("predictor", lambda: heads.box_predictor(pooled))
    raw = proposals.float() * torch.tensor([sx, sy, sx, sy])

    def select():
        probs = torch.softmax(obj.float(), dim=-1)
        conf = per_class_max_conf(raw, probs[:, :-1], 0.3)
        return keep_regions(conf.numpy(), 0.2, 10, 100)

    kept = stage("selection", select)
    out.update(res4=res4, proposals=proposals, pooled=pooled, kept=torch.from_numpy(kept))
    return seconds, out


def count_flops(model: ButdDetector, pixels: np.ndarray, dtype: torch.dtype | None) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    image, _ = preprocess(pixels, 600, 1000)
    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode(), torch.autocast("cpu", dtype=dtype or torch.bfloat16,
                                                         enabled=dtype is not None):
        model(image)
    return int(counter.get_total_flops())


def feature_gap(model: ButdDetector, fp32: dict[str, torch.Tensor], bf16: dict[str, torch.Tensor],
                pixels: np.ndarray) -> dict[str, float]:
    """bf16 autocast features of the fp32 run's proposals against the fp32 features, and
    whether both runs kept the same regions."""
    image, _ = preprocess(pixels, 600, 1000)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        res4 = model.features(image)
        pooled = model.roi_heads.pool(res4, fp32["proposals"]).float()
    ref = fp32["pooled"]
    cosine = torch.nn.functional.cosine_similarity(pooled, ref, dim=1)
    rel = (pooled - ref).norm(dim=1) / ref.norm(dim=1)
    return {"cosine_min": float(cosine.min()), "cosine_mean": float(cosine.mean()),
            "relative_l2_mean": float(rel.mean()), "relative_l2_max": float(rel.max()),
            "same_proposals": bool(torch.equal(bf16["proposals"], fp32["proposals"])),
            "kept_fp32": len(fp32["kept"]), "kept_bf16": len(bf16["kept"]),
            "kept_both": len(set(fp32["kept"].tolist()) & set(bf16["kept"].tolist()))}


def measure(model: ButdDetector, pixels: np.ndarray, name: str, dtype: torch.dtype | None,
            repeats: int, peak: float) -> tuple[dict, dict]:
    runs = [timed_stages(model, pixels, dtype) for _ in range(repeats + 1)][1:]
    stages = {s: statistics.median(r[0][s] for r in runs) for s in STAGES}
    total = sum(stages.values())
    flops = count_flops(model, pixels, dtype)
    row = {"precision": name, "images_per_s": 1 / total, "seconds_per_image": total,
           "seconds": stages, "share": {s: v / total for s, v in stages.items()},
           "flops_per_image": flops, "achieved_tflops": flops / total / 1e12,
           "matmul_peak_tflops": peak / 1e12, "mfu": flops / total / peak,
           "proposals": int(runs[-1][1]["proposals"].shape[0])}
    return row, runs[-1][1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--height", type=int, default=600)
    ap.add_argument("--width", type=int, default=1000)
    ap.add_argument("--peak-n", type=int, default=2048)
    ap.add_argument("--fixture", type=Path, default=FIXTURE)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    photo = Image.fromarray(np.load(args.fixture / "tiny" / "image_rgb_uint8.npy"))
    pixels = np.asarray(photo.resize((args.width, args.height), Image.BILINEAR))
    model = seeded_model(args.fixture)
    isa = cpu_isa()
    precisions = {"fp32": None}
    if "avx512_bf16" in isa or "amx_bf16" in isa:
        precisions["bf16"] = torch.bfloat16
    rows, outs, gap = [], {}, None
    for name, dtype in precisions.items():
        peak = matmul_peak(name, torch.device("cpu"), args.peak_n, best=True)
        row, outs[name] = measure(model, pixels, name, dtype, args.repeats, peak)
        rows.append(row)
    if "bf16" in precisions:
        gap = feature_gap(model, outs["fp32"], outs["bf16"], pixels)
    print(json.dumps({
        "benchmark": "extract_butd", "machine": {**describe_machine(torch.device("cpu")),
                                                 "cpu_isa": isa},
        "torch": torch.__version__, "threads": args.threads,
        "config": {"image_hw": [args.height, args.width], "model": "ResNet-101 C4 VG, 1600 "
                   "classes, 400 attributes (seeded weights)", "pre_nms": 6000, "post_nms": 300,
                   "repeats": args.repeats},
        "results": rows,
        "bf16_vs_fp32_features": gap or "not measured: no native bf16 on this CPU"}))


if __name__ == "__main__":
    main()
