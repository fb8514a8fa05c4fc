"""`vlkit quickstart` at a reduced budget: the pre-trained model must beat the one fine-tuned
from scratch on the quickstart's own held-out test images (its final_metrics.json).

Budget: 800 images, 1,200 MLM pre-training steps, 300 VQA fine-tuning steps on 2,000
questions, a 2-layer uniter-tiny, fp32, one thread per process (~55-90 s on 2 shared cores).
At 800 pre-training steps seed 1 gained only +3.8 points (test): grounding needs the steps;
a 2-layer x 64 model gained nothing at 2,000 steps. Measured at this budget (2026-12-06):

| seed | test pre-trained / scratch | gain | val gain |
|---|---|---|---|
| 0 | 0.416 / 0.310 | +10.6 | +11.0 |
| 1 | 0.362 / 0.286 | +7.6 | +4.8 |

The asserted gain, +3 points on test, is well below the weaker seed's +7.6; scratch stays
near chance (0.30, text-only), so the pre-trained model must also clear chance + 0.03.
"""

from __future__ import annotations

import json

import pytest

from vlkit.cli.main import main

pytestmark = pytest.mark.slow


def test_pretrained_beats_scratch_on_held_out_questions(tmp_path):
    out = tmp_path / "qs"
    assert main(["quickstart", "--out", str(out), "--seed", "0", "--images", "800",
                 "--pretrain-steps", "1200", "--finetune-steps", "300",
                 "--vqa-questions", "2000", "model.num_layers=2", "train.precision=fp32",
                 "train.num_threads=1", "train.progress=false"]) == 0
    final = json.loads((out / "final_metrics.json").read_text())
    test = final["vqa"]
    assert final["machine"]["pretrain"]["precision"] == "fp32"
    assert test["pretrained"] > test["scratch"] + 0.03, final
    assert test["pretrained"] > 0.30 + 0.03, final
