"""Caption decoding benchmark: tokens/s of incremental decoding (cached keys/values) against
full recomputation of the sequence at every step, same model, same images, same tokens.

Prints ONE JSON object: machine, torch version, threads, config, tokens/s of each way (median
of `--repeats` runs after one warm-up), the speed-up, and whether both produced the same
tokens. Every caption is forced to `--max-len` tokens (min_len = max_len) so that both ways
do the same number of steps; tokens/s = images x beam x max_len / seconds.

    python bench/bench_decoding.py [--model vlp-tiny] [--images 32] [--regions 10]
        [--max-len 20] [--beam 1] [--device cpu] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch
from machine_info import describe_machine

from vlkit.data.collate.vlp import collate_caption
from vlkit.data.examples import CaptionExample, PairExample
from vlkit.generation import BeamConfig
from vlkit.models.config import ModelConfig
from vlkit.models.presets import MODEL_PRESETS
from vlkit.models.vlp import Vlp
from vlkit.objectives.caption import decode

SPECIAL = {"pad": 0, "cls": 101, "sep": 102, "mask": 103}


def random_images(n: int, regions: int, feat_dim: int, label_dim: int
                  ) -> list[CaptionExample]:
    """Images of regions +- 30% boxes with random features, boxes and class probabilities."""
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        nbb = int(rng.integers(max(1, int(regions * 0.7)), int(regions * 1.3) + 1))
        xy, wh = rng.uniform(0, 0.5, (nbb, 2)), rng.uniform(0.05, 0.5, (nbb, 2))
        box = np.concatenate([xy, xy + wh, wh, wh[:, :1] * wh[:, 1:]], 1).astype(np.float32)
        pair = PairExample(
            id=str(i), img_id=str(i), input_ids=torch.tensor([SPECIAL["cls"]]),
            img_feat=rng.normal(size=(nbb, feat_dim)).astype(np.float16), img_pos_feat=box,
            img_soft_labels=rng.dirichlet(np.ones(label_dim), nbb).astype(np.float32))
        out.append(CaptionExample(pair=pair, refs=[]))
    return out


def timed(model, batch, beam: BeamConfig, incremental: bool, repeats: int
          ) -> tuple[list[float], list[list[int]]]:
    with torch.no_grad():
        tokens = decode(model, batch, SPECIAL, beam, incremental)  # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            decode(model, batch, SPECIAL, beam, incremental)
            if batch.inputs.img_feat.is_cuda:
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
    return times, tokens


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    vlp_models = sorted(n for n, p in MODEL_PRESETS.items() if p["arch"] == "vlp")
    ap.add_argument("--model", default="vlp-tiny", choices=vlp_models)
    ap.add_argument("--images", type=int, default=32)
    ap.add_argument("--regions", type=int, default=10)
    ap.add_argument("--max-len", type=int, default=20)
    ap.add_argument("--beam", type=int, default=1)
    ap.add_argument("--feat-dim", type=int, default=256)
    ap.add_argument("--label-dim", type=int, default=7)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = ModelConfig(**{**MODEL_PRESETS[args.model], "img_dim": args.feat_dim,
                         "img_label_dim": args.label_dim})
    device = torch.device(args.device)
    model = Vlp(cfg).to(device).eval()
    batch = collate_caption(random_images(args.images, args.regions, args.feat_dim,
                                          args.label_dim), args.label_dim).to(device)
    beam = BeamConfig(beam_size=args.beam, max_len=args.max_len, min_len=args.max_len)
    tokens_out = args.images * args.beam * args.max_len
    result = {}
    outputs = {}
    for name, incremental in (("incremental", True), ("full", False)):
        times, outputs[name] = timed(model, batch, beam, incremental, args.repeats)
        result[name] = {"tokens_per_s": tokens_out / statistics.median(times),
                        "seconds": times}
    print(json.dumps({
        "machine": describe_machine(device),
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        "config": {**vars(args), "hidden_size": cfg.hidden_size, "num_layers": cfg.num_layers},
        **result,
        "speedup": result["incremental"]["tokens_per_s"] / result["full"]["tokens_per_s"],
        "same_tokens": outputs["incremental"] == outputs["full"]}))


if __name__ == "__main__":
    main()
