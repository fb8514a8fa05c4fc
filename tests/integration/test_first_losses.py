"""Pinned first losses: every recipe's first logged losses, at tiny size with a fixed seed,
equal the values of a reviewed earlier run (torchtune's practice).

Each case trains 3 steps through `vlkit train` on the shared 40-image world (conftest.py),
fp32, one thread, `train.log_every=1`, and reads `RUN/metrics.jsonl`. A change that moves
these numbers changed what the recipe computes (data order, masking, init, loss, optimiser):
if the change is intended, regenerate the table and review the diff.

Regenerate (never silently; paste the printed table over PINNED and say why in the commit):
    PYTHONPATH=. OMP_NUM_THREADS=1 python tests/integration/test_first_losses.py
Tolerance: rel 1e-3 (abs 1e-4 for values near 0, e.g. the WRA transport loss). Measured
drift (2026-12-06, AVX-512 machine, full float precision): two runs identical bit for bit;
`train.num_threads=2` with OMP_NUM_THREADS=2 moved one value (nlvr2, step 3) by rel 9e-8 and
no other. The printed table keeps 6 significant digits (rounding < 1e-6 relative), so the
tolerance leaves four orders of magnitude for BLAS differences between AVX2 and AVX-512 CPUs.

Beside the pins, INIT states an independent approximate value of the first loss where one is
cheap (a K-way softmax at initialisation gives about log K; a sigmoid per answer log 2 each):
a broken pin table cannot hide a loss that is wrong from the start.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

from vlkit.cli.main import main

SEED = 1234
STEPS = 3
TINY = ["train.progress=false", "train.precision=fp32", "train.device=cpu",
        "train.num_threads=1", "train.log_every=1", "train.warmup_steps=1",
        "train.val_every=1000", "train.ckpt_every=1000", "model.num_layers=1",
        "model.hidden_size=32", "model.num_heads=2", "model.intermediate_size=64",
        "train.batch_size=4", f"train.total_steps={STEPS}", "data.train_limit=16",
        f"train.seed={SEED}", "data.val_batches=1"]
CAPTION = ["task.coco_metrics=false", "task.max_len=8", "task.val_images=2"]

# case -> (preset, extra overrides)
CASES: dict[str, tuple[str, list[str]]] = {
    "pretrain-mlm": ("uniter-tiny-pretrain", ["data.tasks={mlm: 1}"]),
    "pretrain-mrfr": ("uniter-tiny-pretrain", ["data.tasks={mrfr: 1}"]),
    "pretrain-mrc": ("uniter-tiny-pretrain", ["data.tasks={mrc: 1}"]),
    "pretrain-mrc-kl": ("uniter-tiny-pretrain", ["data.tasks={mrc-kl: 1}"]),
    "pretrain-itm-wra": ("uniter-tiny-pretrain-regions", []),
    "vqa": ("uniter-tiny-vqa", []),
    "nlvr2": ("uniter-tiny-nlvr2", []),
    "ve": ("uniter-tiny-ve", []),
    "itm": ("uniter-tiny-itm", ["task.val_images=4", "task.eval_images=4"]),
    "re": ("uniter-tiny-re", []),
    "vcr": ("uniter-tiny-vcr", []),
    "vcr-pretrain": ("uniter-tiny-vcr-pretrain", []),
    "caption": ("vlp-tiny-caption", CAPTION),
    "scst": ("vlp-tiny-scst", CAPTION),
    "vlbert-pretrain": ("vlbert-tiny-pretrain", ["task.synth_corpus=16"]),
    "vlbert-vqa": ("vlbert-tiny-vqa", []),
    "vlbert-re": ("vlbert-tiny-re", []),
    "vlbert-vcr": ("vlbert-tiny-vcr", []),
    "vlp-vqa": ("vlp-tiny-vqa", []),
}

# case -> the first STEPS logged values of every *loss key of the train rows.
PINNED: dict[str, dict[str, list[float]]] = {
    "caption": {
        "s2s_loss": [4.47836, 4.48058, 4.44861],
        "vlp_loss": [4.47836, 4.48058, 4.44861],
    },
    "itm": {
        "itm_rank_loss": [0.200005, 0.199994, 0.200002],
    },
    "nlvr2": {
        "nlvr2_loss": [0.692544, 0.694938, 0.692307],
    },
    "pretrain-itm-wra": {
        "itm_loss": [0.693142, 0.693159, 0.693159],
        "wra_loss": [-0.0118204, 0.377027, -0.0169297],
    },
    "pretrain-mlm": {
        "mlm_loss": [3.75943, 3.78425, 3.71776],
    },
    "pretrain-mrc": {
        "mrc_loss": [1.88778, 1.91729, 1.92905],
    },
    "pretrain-mrc-kl": {
        "mrc_kl_loss": [0.1431, 0.156672, 0.142699],
    },
    "pretrain-mrfr": {
        "mrfr_loss": [0.983296, 1.08554, 0.810372],
    },
    "re": {
        "re_loss": [1.91965, 1.74426, 1.94967],
    },
    "scst": {
        "scst_loss": [0.0843426, 0.0563169, 0.298935],
    },
    "vcr": {
        "vcr_loss": [0.658211, 0.658223, 0.565399],
    },
    "vcr-pretrain": {
        "mlm_loss": [4.48044, 4.45732, math.nan],
        "mrfr_loss": [math.nan, math.nan, 0.953673],
    },
    "ve": {
        "ve_loss": [2.04233, 1.9787, 2.04118],
    },
    "vlbert-pretrain": {
        "mlm_loss": [4.44781, 4.38646, 4.49632],
    },
    "vlbert-re": {
        "re_loss": [0.743339, 0.753408, 0.722211],
    },
    "vlbert-vcr": {
        "vcr_loss": [0.687828, 0.689955, 0.667634],
    },
    "vlbert-vqa": {
        "vqa_loss": [19.2966, 17.5863, 18.1568],
    },
    "vlp-vqa": {
        "vqa_loss": [15.9522, 15.9598, 15.6871],
    },
    "vqa": {
        "vqa_loss": [16.386, 16.539, 13.0471],
    },
}

# case -> (loss key, approximate first loss from first principles, relative bound)
LN2 = math.log(2)
INIT: dict[str, tuple[str, float, float]] = {
    # 23-answer BCE summed over answers (UNITER multiplies the mean by the answer count)
    "vqa": ("vqa_loss", 23 * LN2, 0.1),
    "vlp-vqa": ("vqa_loss", 23 * LN2, 0.1),
    "nlvr2": ("nlvr2_loss", LN2, 0.05),  # 2-way softmax
    "ve": ("ve_loss", 3 * LN2, 0.1),  # 3-class BCE times 3
    "itm": ("itm_rank_loss", 0.2, 0.01),  # margin 0.2 + sigmoid(s_neg) - sigmoid(s_pos), equal
    "pretrain-itm-wra": ("itm_loss", LN2, 0.05),
    "pretrain-mlm": ("mlm_loss", math.log(40), 0.1),  # data.mlm_vocab=corpus: ~40 word ids
    "pretrain-mrc": ("mrc_loss", math.log(7), 0.1),  # background + 6 shapes
    "re": ("re_loss", math.log(6), 0.25),  # softmax over 3-9 regions per image
    "vcr": ("vcr_loss", LN2, 0.1),  # 2-way softmax per row
    "vcr-pretrain": ("mlm_loss", math.log(84), 0.1),  # the world's whole 84-word vocabulary
    "caption": ("s2s_loss", math.log(84), 0.1),
    "vlbert-pretrain": ("mlm_loss", math.log(84), 0.1),
    "vlbert-re": ("re_loss", LN2, 0.1),  # per-region sigmoid
    "vlbert-vcr": ("vcr_loss", LN2, 0.1),  # per-row sigmoid
}


def first_losses(run: Path) -> dict[str, list[float]]:
    """Every `*loss` key of RUN/metrics.jsonl's train rows, in step order."""
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    train = [r for r in rows if r["kind"] == "train"]
    assert [r["step"] for r in train] == list(range(1, STEPS + 1))
    keys = sorted({k for r in train for k in r if k.endswith("loss")})
    return {k: [r.get(k, math.nan) for r in train] for k in keys}


def train_case(case: str, world: Path, run: Path) -> dict[str, list[float]]:
    preset, extra = CASES[case]
    assert main(["train", preset, f"data.root={world}", f"out={run}", *TINY, *extra]) == 0
    return first_losses(run)


@pytest.mark.parametrize("case", sorted(CASES))
def test_first_losses_match_the_pinned_run(case, world, tmp_path):
    got = train_case(case, world, tmp_path / case)
    want = PINNED[case]
    assert set(got) == set(want), f"{case}: logged loss keys changed"
    for key, values in want.items():
        assert got[key] == pytest.approx(values, rel=1e-3, abs=1e-4, nan_ok=True), (case, key)
    if case in INIT:
        key, expected, rel = INIT[case]
        assert got[key][0] == pytest.approx(expected, rel=rel), (case, key, "at initialisation")


if __name__ == "__main__":  # regenerate PINNED: prints the table for review
    import tempfile

    from vlkit.data.synthetic.world import build_world

    with tempfile.TemporaryDirectory() as tmp:
        world = Path(tmp) / "world"
        build_world(world, num_images=40, seed=0)  # conftest.py's `world`
        cases = sys.argv[1:] or sorted(CASES)
        table = {c: train_case(c, world, Path(tmp) / c) for c in cases}
    print("PINNED: dict[str, dict[str, list[float]]] = {")
    for case, losses in table.items():
        print(f'    "{case}": {{')
        for key, values in losses.items():
            text = ", ".join("math.nan" if math.isnan(v) else f"{v:.6g}" for v in values)
            print(f'        "{key}": [{text}],')
        print("    },")
    print("}")
