"""Retrieval scoring benchmark: pairs/s of scoring EVERY text x image pair with the
cross-encoder (vlkit.evaluation.retrieval), on random inputs of realistic sizes.

Prints ONE JSON object: machine, torch version, threads, config, pairs/s (median of
`--repeats` full passes over the texts x images grid, after one warm-up pass), FLOPs per pair
(torch's FlopCounterMode over one pass), MFU against the matrix-multiply peak measured in the
same run for the precision used, and the projected wall time of exact zero-shot Flickr30k
ranking (1,000 test images x 5,000 captions = 5M pairs) here and on one H100 SXM at the same
MFU (989 dense bf16 / 67 fp32 TFLOP/s, NVIDIA's datasheet figures: a projection, not a
measurement).

    python bench/bench_retrieval.py [--size base] [--texts 60] [--images 40] [--regions 36]
        [--txt-len 16] [--batch 400] [--precision bf16]
    python bench/bench_retrieval.py --model uniter-tiny --regions 8 --txt-len 12 --feat-dim 256
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
from machine_info import cpu_isa, describe_machine, matmul_peak
from torch.utils.flop_counter import FlopCounterMode

from vlkit.evaluation.retrieval import RetrievalSet, score_all_pairs
from vlkit.models.config import ModelConfig
from vlkit.models.presets import MODEL_PRESETS
from vlkit.models.uniter import Uniter
from vlkit.train.precision import resolve_precision
from vlkit.utils.allocator import keep_freed_memory


def random_set(texts: int, images: int, regions: int, txt_len: int, feat_dim: int,
               vocab: int) -> RetrievalSet:
    """Texts of txt_len +- 30% tokens and images of regions +- 30% boxes, random contents."""
    gen = torch.Generator().manual_seed(0)
    tl = torch.randint(max(3, int(txt_len * 0.7)), int(txt_len * 1.3) + 1, (texts,), generator=gen)
    nbb = torch.randint(max(1, int(regions * 0.7)), int(regions * 1.3) + 1, (images,),
                        generator=gen)
    ids = torch.randint(1000, vocab, (texts, int(tl.max())), generator=gen)
    ids[torch.arange(ids.shape[1])[None] >= tl[:, None]] = 0
    return RetrievalSet(
        txt_ids=[str(t) for t in range(texts)], img_ids=[f"i{i}" for i in range(images)],
        input_ids=ids, txt_lens=tl,
        img_feat=torch.randn(images, int(nbb.max()), feat_dim, generator=gen).half(),
        img_pos_feat=torch.rand(images, int(nbb.max()), 7, generator=gen), num_bbs=nbb,
        txt2img=torch.arange(texts) % images)


FLICKR_PAIRS = 1000 * 5000
H100_PEAK = {"bf16": 989e12, "fp32": 67e12}  # dense, SXM; datasheet


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="uniter-tiny", choices=sorted(MODEL_PRESETS))
    ap.add_argument("--size", default=None, choices=["tiny", "base", "large"],
                    help="uniter-<size> with Flickr30k's shapes: 2048-d features (overrides "
                         "--model and --feat-dim)")
    ap.add_argument("--texts", type=int, default=60)
    ap.add_argument("--images", type=int, default=40)
    ap.add_argument("--regions", type=int, default=8)
    ap.add_argument("--txt-len", type=int, default=12)
    ap.add_argument("--feat-dim", type=int, default=256)
    ap.add_argument("--batch", type=int, default=1024, help="pairs per forward pass")
    ap.add_argument("--precision", default="auto", choices=["fp32", "bf16", "auto"],
                    help="auto: bf16 where the CPU has it natively")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    keep_freed_memory()  # as every vlkit command runs (vlkit.cli.main)
    if args.size:
        args.model, args.feat_dim = f"uniter-{args.size}", 2048
    cfg = ModelConfig(**{**MODEL_PRESETS[args.model], "img_dim": args.feat_dim})
    device = torch.device(args.device)
    model = Uniter(cfg, heads=("rank",)).to(device).eval()
    data = random_set(args.texts, args.images, args.regions, args.txt_len, args.feat_dim,
                      cfg.vocab_size)
    precision = resolve_precision(args.precision, device)
    score_all_pairs(model, data, device, precision, args.batch)  # warm-up
    with FlopCounterMode(display=False) as counter:
        score_all_pairs(model, data, device, precision, args.batch)
    pairs = args.texts * args.images
    flops_per_pair = counter.get_total_flops() / pairs
    rates = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        score_all_pairs(model, data, device, precision, args.batch)
        rates.append(pairs / (time.perf_counter() - start))
    rate = statistics.median(rates)
    peak = matmul_peak(precision, device)
    mfu = rate * flops_per_pair / peak
    print(json.dumps({
        "machine": {**describe_machine(device), "cpu_isa": cpu_isa()},
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        "config": {**vars(args), "precision": precision, "hidden_size": cfg.hidden_size,
                   "num_layers": cfg.num_layers},
        "pairs": pairs, "pairs_per_s": rate, "pairs_per_s_all": rates,
        "gflops_per_pair": flops_per_pair / 1e9, "matmul_peak_tflops": peak / 1e12,
        "mfu": mfu,
        "flickr30k_zero_shot_projection": {
            "pairs": FLICKR_PAIRS, "this_machine_hours": FLICKR_PAIRS / rate / 3600,
            "h100_minutes_at_this_mfu": FLICKR_PAIRS * flops_per_pair
            / (H100_PEAK[precision if precision in H100_PEAK else "fp32"] * mfu) / 60}},
        indent=1))


if __name__ == "__main__":
    main()
