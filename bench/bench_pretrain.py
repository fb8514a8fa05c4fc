"""Pre-training step benchmark: vlkit's UNITER against the reference UNITER code and
transformers' VisualBertForPreTraining.

One step = forward + backward + optimizer step (+ zero_grad) on one batch, same dimensions and
batch for every model: BERT-base sizes by default, batch 32, text lengths drawn from 24-40 tokens,
36 regions of 2048-d features, 15% of the text masked. Tasks: `mlm` (both models) and
`itm` (vlkit: ITM + WRA by optimal transport, as UNITER pre-trains; VisualBERT: its
sentence-image prediction head, the closest thing it has). Each (model, task, precision) runs in
a fresh subprocess so that its peak memory (max RSS on CPU, max allocated on CUDA) is its own.
The same run measures the matrix-multiply peak (fp32 and, when requested, bf16: ten 2048^3
products before the models and ten after, their median and their best) so that model FLOPs
utilisation can be quoted against both (`mfu`, `mfu_vs_best`); FLOPs per sample are counted by
torch's FlopCounterMode over one full step (matrix products and attention, forward and
backward). `--rounds R` runs the model list R times in turn (vlkit, peer, vlkit, peer, ...), so
that a slow spell of a shared machine does not fall on one model only; each row's step time is
the median over all its rounds (`step_s_rounds`: each round's own median).

Prints ONE JSON object: machine, torch version, threads, config, the peaks, one row per
(model, task, precision) with samples/s (median over `--steps` steps after `--warmup`), peak
memory, FLOPs per sample and MFU, and vlkit/VisualBERT and vlkit/reference ratios.

    python bench/bench_pretrain.py [--size base] [--batch 32] [--precisions fp32,bf16]
        [--tasks mlm,itm] [--steps 4] [--warmup 2] [--rounds 1] [--threads 2] [--device cpu]
        [--models vlkit,visualbert] [--reference-repo PATH]

`reference` in `--models` is UNITER's own code (github.com/ChenRocks/UNITER) loaded from the
checkout `--reference-repo` names (bench/reference_uniter.py: its patches and batch). vlkit's rows
run with the allocator setting every `vlkit` command applies (vlkit.utils.allocator); the peers
with glibc's defaults, as their own training scripts run.

`--models` may add `vlkit-padded`: vlkit with `model.pack_tokens=false` (the encoder computes
the padding positions too), to measure what token packing saves in the same run, and `vlbert`
/ `vlp`: vlkit's other families on the same MLM batch (VLP with half seq2seq, half
bidirectional masks).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import torch
from machine_info import cpu_isa, describe_machine, matmul_rates

SIZES = {"base": dict(hidden_size=768, num_layers=12, num_heads=12, intermediate_size=3072),
         "small": dict(hidden_size=256, num_layers=4, num_heads=4, intermediate_size=1024),
         "tiny": dict(hidden_size=128, num_layers=3, num_heads=4, intermediate_size=512)}
VOCAB = 30522
FEAT_DIM, NUM_REGIONS, TXT_RANGE, MASK_PROB = 2048, 36, (24, 40), 0.15
LABELS = 1601  # VLP's class-probability slot input (background + 1600 VG classes)
PEERS = ("visualbert", "reference")  # the other codebases; every other model is vlkit's


def random_examples(batch: int, seed: int) -> list:
    """MlmExamples as vlkit's datasets + maskers yield them (15% of words masked)."""
    from vlkit.data.examples import MlmExample, PairExample

    gen = torch.Generator().manual_seed(seed)
    out = []
    for i in range(batch):
        length = int(torch.randint(TXT_RANGE[0], TXT_RANGE[1] + 1, (1,), generator=gen))
        ids = torch.randint(1000, VOCAB, (length,), generator=gen)
        ids[0], ids[-1] = 101, 102
        masked = torch.rand(length, generator=gen) < MASK_PROB
        masked[0] = masked[-1] = False
        masked[1] = True
        labels = torch.where(masked, ids, torch.full_like(ids, -1))
        xy = torch.rand(NUM_REGIONS, 2, generator=gen) * 0.5
        wh = torch.rand(NUM_REGIONS, 2, generator=gen) * 0.5
        boxes = torch.cat([xy, xy + wh, wh, wh[:, :1] * wh[:, 1:]], 1)
        pair = PairExample(id=str(i), img_id=str(i), input_ids=ids.masked_fill(masked, 103),
                           img_feat=torch.randn(NUM_REGIONS, FEAT_DIM, generator=gen).half(),
                           img_pos_feat=boxes)
        out.append(MlmExample(pair=pair, txt_labels=labels))
    return out


def task_examples(task: str, batch: int, seed: int) -> list:
    """`random_examples` as `task`'s collate takes them: MLM, or ITM (every other one a
    negative) on the same pairs."""
    from vlkit.data.examples import ItmExample

    examples = random_examples(batch, seed)
    if task == "itm":
        return [ItmExample(pair=ex.pair, itm_target=i % 2) for i, ex in enumerate(examples)]
    return examples


def vlkit_step_fn(size: str, task: str, batch: int, device: torch.device,
                  pack_tokens: bool = True):
    from vlkit.data.collate import COLLATE
    from vlkit.models.config import ModelConfig
    from vlkit.models.uniter import PRETRAIN_HEADS, Uniter
    from vlkit.objectives.pretrain import PretrainObjective

    cfg = ModelConfig(**SIZES[size], vocab_size=VOCAB, img_dim=FEAT_DIM,
                      pack_tokens=pack_tokens)
    model = Uniter(cfg, heads=PRETRAIN_HEADS)
    return training_step(model, PretrainObjective(),
                         COLLATE[task](task_examples(task, batch, seed=0)), device)


def training_step(model, objective, data, device: torch.device):
    """One vlkit training step (objective, backward, AdamW) on a fixed batch, as a closure."""
    from vlkit.train.optim import build_optimizer

    model = model.to(device).train()
    optimizer = build_optimizer(model, lr=1e-5)
    data = data.to(device)

    def step() -> None:
        loss, _ = objective(model, data)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return step


def family_step_fn(family: str, size: str, task: str, batch: int, device: torch.device):
    """A masked-language-modelling step of vlkit's VL-BERT (MLM with visual clues) or VLP
    (half seq2seq, half bidirectional masks; region slots with 1601 class probabilities) on
    the same examples: the other families' token packing measured against VisualBERT."""
    from dataclasses import replace

    from vlkit.data.collate import COLLATE
    from vlkit.data.collate.vlp import collate_vlp
    from vlkit.data.examples import VlpExample
    from vlkit.models.config import ModelConfig

    if task != "mlm":
        raise SystemExit(f"{family}: only the mlm task is benchmarked")
    examples = random_examples(batch, seed=0)
    if family == "vlbert":
        from vlkit.models.vlbert import VlBert
        from vlkit.objectives.vlbert import VlBertPretrainObjective

        cfg = ModelConfig(**SIZES[size], arch="vlbert", vocab_size=VOCAB, img_dim=FEAT_DIM,
                          type_vocab_size=3)
        model, objective = VlBert(cfg, heads=("mlm",)), VlBertPretrainObjective()
        data = COLLATE["mlm"](examples)
    else:
        from vlkit.models.vlp import Vlp
        from vlkit.objectives.vlp import VlpObjective

        cfg = ModelConfig(**SIZES[size], arch="vlp", vocab_size=VOCAB, img_dim=FEAT_DIM,
                          img_label_dim=LABELS, type_vocab_size=6)
        gen = torch.Generator().manual_seed(1)
        vlp = [VlpExample(pair=replace(ex.pair, img_soft_labels=torch.rand(
                   NUM_REGIONS, LABELS, generator=gen).softmax(-1)),
                          txt_labels=ex.txt_labels, vlp_mode=i % 2)
               for i, ex in enumerate(examples)]
        model, objective = Vlp(cfg), VlpObjective()
        data = collate_vlp(vlp, LABELS)
    return training_step(model, objective, data, device)


def visualbert_step_fn(size: str, task: str, batch: int, device: torch.device):
    from transformers import VisualBertConfig, VisualBertForPreTraining

    dims = SIZES[size]
    cfg = VisualBertConfig(vocab_size=VOCAB, hidden_size=dims["hidden_size"],
                           num_hidden_layers=dims["num_layers"],
                           num_attention_heads=dims["num_heads"],
                           intermediate_size=dims["intermediate_size"],
                           visual_embedding_dim=FEAT_DIM)
    model = VisualBertForPreTraining(cfg).to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    inputs = visualbert_inputs(task_examples(task, batch, seed=0), task, device)

    def step() -> None:
        model(**inputs).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return step


def visualbert_inputs(examples: list, task: str, device: torch.device) -> dict:
    """The same batch (`task_examples`), padded the way VisualBERT takes it (text, then all
    regions)."""
    width = max(len(ex.pair.input_ids) for ex in examples)
    ids = torch.zeros(len(examples), width, dtype=torch.long)
    labels = torch.full((len(examples), width + NUM_REGIONS), -100, dtype=torch.long)
    mask = torch.zeros(len(examples), width, dtype=torch.long)
    for i, ex in enumerate(examples):
        n = len(ex.pair.input_ids)
        ids[i, :n], mask[i, :n] = ex.pair.input_ids, 1
        if task == "mlm":
            labels[i, :n] = ex.txt_labels.masked_fill(ex.txt_labels < 0, -100)
    inputs = {"input_ids": ids, "attention_mask": mask, "labels": labels,
              "visual_embeds": torch.stack([ex.pair.img_feat.float() for ex in examples]),
              "visual_attention_mask": torch.ones(len(examples), NUM_REGIONS, dtype=torch.long)}
    if task == "itm":
        inputs["sentence_image_labels"] = torch.tensor([ex.itm_target for ex in examples])
    return {k: v.to(device) for k, v in inputs.items()}


def measure_one(args: argparse.Namespace) -> dict:
    """Run inside the subprocess: one (model, task, precision) configuration."""
    from torch.utils.flop_counter import FlopCounterMode

    torch.manual_seed(0)
    device = torch.device(args.device)
    if args.model == "visualbert":
        step = visualbert_step_fn(args.size, args.task, args.batch, device)
    elif args.model == "reference":
        from reference_uniter import reference_step_fn

        if not args.reference_repo:
            raise SystemExit("--models reference needs --reference-repo PATH (a UNITER checkout)")
        step = reference_step_fn(args.reference_repo, SIZES[args.size], VOCAB, FEAT_DIM, LABELS,
                                 task_examples(args.task, args.batch, seed=0), args.task,
                                 device)
    elif args.model in ("vlbert", "vlp"):
        step = family_step_fn(args.model, args.size, args.task, args.batch, device)
    else:
        step = vlkit_step_fn(args.size, args.task, args.batch, device,
                             pack_tokens=args.model != "vlkit-padded")
    if args.model not in PEERS:
        from vlkit.utils.allocator import keep_freed_memory

        keep_freed_memory()
    dtype = {"fp32": None, "bf16": torch.bfloat16}[args.precision]

    def timed() -> float:
        start = time.perf_counter()
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start

    times = [timed() for _ in range(args.warmup + args.steps)][args.warmup:]
    counter = FlopCounterMode(display=False)
    with counter, torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
        step()
    seconds = statistics.median(times)
    peak = (torch.cuda.max_memory_allocated(device) if device.type == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    return {"model": args.model, "task": args.task, "precision": args.precision,
            "step_s": seconds, "step_s_all": times, "samples_per_s": args.batch / seconds,
            "flops_per_sample": counter.get_total_flops() / args.batch,
            "achieved_tflops": counter.get_total_flops() / seconds / 1e12,
            "peak_memory_mb": peak / 2**20}


def machine(device: torch.device) -> dict:
    """describe_machine plus the CPU's matrix instruction sets (what bf16 speed depends on)."""
    return {**describe_machine(device), "cpu_isa": cpu_isa()}


def run_all(args: argparse.Namespace) -> dict:
    device = torch.device(args.device)
    precisions = args.precisions.split(",")
    sizes = {p: args.peak_n if p == "fp32" else args.peak_n_bf16 for p in precisions}
    rates = {p: matmul_rates(p, device, sizes[p], repeats=10) for p in precisions}
    runs = []
    for _ in range(args.rounds):  # rounds interleave the models: drifts hit them alike
        for precision in precisions:
            for task in args.tasks.split(","):
                for model in args.models.split(","):
                    if model in ("vlbert", "vlp") and task != "mlm":
                        continue
                    runs.append(_measure_in_subprocess(args, model, task, precision))
    for p in precisions:  # the peak sampled before and after the steps, not in one burst
        rates[p] += matmul_rates(p, device, sizes[p], repeats=10)
    peaks = {p: statistics.median(r) for p, r in rates.items()}
    best = {p: max(r) for p, r in rates.items()}
    rows = _merge_rounds(runs, args.batch)
    for row in rows:
        row["mfu"] = row["achieved_tflops"] * 1e12 / peaks[row["precision"]]
        row["mfu_vs_best"] = row["achieved_tflops"] * 1e12 / best[row["precision"]]
    ratios = {peer: _ratios(rows, peer) for peer in PEERS}
    return {"benchmark": "pretrain_step", "machine": machine(device), "torch": torch.__version__,
            "threads": args.threads,
            "config": {"size": args.size, **SIZES[args.size], "batch": args.batch,
                       "txt_len": list(TXT_RANGE), "regions": NUM_REGIONS, "feat_dim": FEAT_DIM,
                       "vocab": VOCAB, "steps": args.steps, "warmup": args.warmup,
                       "rounds": args.rounds},
            "matmul_peak_tflops": {p: v / 1e12 for p, v in peaks.items()},
            "matmul_best_tflops": {p: v / 1e12 for p, v in best.items()},
            "results": rows, "vlkit_over_visualbert": ratios["visualbert"],
            "vlkit_over_reference": ratios["reference"]}


def _measure_in_subprocess(args: argparse.Namespace, model: str, task: str,
                           precision: str) -> dict:
    cmd = [sys.executable, __file__, "--one", "--model", model, "--task", task,
           "--precision", precision, *_shared_flags(args)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{model}/{task}/{precision} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _merge_rounds(runs: list[dict], batch: int) -> list[dict]:
    """One row per (model, task, precision): the median step over every round's measured
    steps, the largest peak memory; `step_s_rounds` keeps each round's median."""
    rows: dict[tuple, dict] = {}
    for run in runs:
        key = (run["model"], run["task"], run["precision"])
        if key not in rows:
            rows[key] = {**run, "step_s_rounds": [run["step_s"]]}
            continue
        row = rows[key]
        row["step_s_all"] += run["step_s_all"]
        row["step_s_rounds"].append(run["step_s"])
        row["peak_memory_mb"] = max(row["peak_memory_mb"], run["peak_memory_mb"])
    for row in rows.values():
        row["step_s"] = statistics.median(row["step_s_all"])
        row["samples_per_s"] = batch / row["step_s"]
        row["achieved_tflops"] = row["flops_per_sample"] * batch / row["step_s"] / 1e12
    return list(rows.values())


def _ratios(rows: list[dict], peer: str) -> dict:
    """samples/s of every vlkit row over `peer`'s on the same task and precision, keyed
    "task/precision" for vlkit's UNITER and "model:task/precision" for the others."""
    out = {}
    for row in rows:
        match = next((r for r in rows if r["model"] == peer and r["task"] == row["task"]
                      and r["precision"] == row["precision"]), None)
        if row["model"] not in PEERS and match is not None:
            prefix = "" if row["model"] == "vlkit" else f"{row['model']}:"
            out[f"{prefix}{row['task']}/{row['precision']}"] = \
                row["samples_per_s"] / match["samples_per_s"]
    return out


def _shared_flags(args: argparse.Namespace) -> list[str]:
    flags = ["--size", args.size, "--batch", str(args.batch), "--steps", str(args.steps),
             "--warmup", str(args.warmup), "--threads", str(args.threads), "--device",
             args.device]
    return flags + (["--reference-repo", args.reference_repo] if args.reference_repo else [])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="base", choices=sorted(SIZES))
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--precisions", default="fp32", help="comma list of fp32, bf16")
    ap.add_argument("--tasks", default="mlm,itm", help="comma list of mlm, itm")
    ap.add_argument("--models", default="vlkit,visualbert",
                    help="comma list of vlkit, visualbert, reference, vlkit-padded, vlbert, "
                         "vlp (vlbert and vlp: mlm only)")
    ap.add_argument("--reference-repo", default="",
                    help="a checkout of github.com/ChenRocks/UNITER, for --models reference")
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=1,
                    help="run the whole model list this many times, interleaved; every row "
                         "takes the median over all rounds' steps")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--peak-n", type=int, default=2048, help="fp32 matmul size for the peak")
    ap.add_argument("--peak-n-bf16", type=int, default=2048)
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--model", default="vlkit", help=argparse.SUPPRESS)
    ap.add_argument("--task", default="mlm", help=argparse.SUPPRESS)
    ap.add_argument("--precision", default="fp32", help=argparse.SUPPRESS)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(json.dumps(measure_one(args) if args.one else run_all(args)))


if __name__ == "__main__":
    main()
