"""VQA in VLP mode through `vlkit train vlp-tiny-vqa` on the tiny synthetic world."""

from __future__ import annotations

import json

import torch

from vlkit.cli.main import main
from vlkit.data.collate.vlp import collate_vlp_vqa
from vlkit.data.examples import PairExample, VqaExample
from vlkit.models.config import ModelConfig
from vlkit.models.vlp import Vlp
from vlkit.objectives.vlp import vlp_vqa_logits

SMALL = ["train.progress=false", "train.precision=fp32", "train.device=cpu",
         "train.num_threads=1", "train.log_every=1", "train.warmup_steps=1",
         "train.val_every=1000", "train.ckpt_every=1000", "model.num_layers=1",
         "model.hidden_size=32", "model.num_heads=2", "model.intermediate_size=64"]


def test_vlp_vqa_trains_and_writes_official_predictions(world, tmp_path):
    run = tmp_path / "run"
    assert main(["train", "vlp-tiny-vqa", f"data.root={world}", f"out={run}", *SMALL,
                 "train.total_steps=2", "train.batch_size=8"]) == 0
    results = json.loads((run / "final_metrics.json").read_text())
    assert "vqa_loss" in results["train"] and 0.0 <= results["val"]["accuracy"] <= 1.0
    answers = json.loads((run / "predictions" / "vqa_val.json").read_text())
    assert len(answers) == results["val"]["num_questions"] > 0
    assert {"question_id", "answer"} == set(answers[0])


def test_vlp_vqa_head_reads_cls_and_the_question_sep():
    cfg = ModelConfig(arch="vlp", vocab_size=40, hidden_size=16, num_layers=1, num_heads=2,
                      intermediate_size=32, type_vocab_size=6, img_dim=8, img_label_dim=3)
    torch.manual_seed(0)
    model = Vlp(cfg, heads=("mlm", "vqa"), num_answers=4).eval()
    ex = [VqaExample(pair=PairExample(id=str(i), img_id=str(i),
                                      input_ids=torch.tensor([1, *range(5, 5 + n), 2]),
                                      img_feat=torch.randn(3, 8), img_pos_feat=torch.rand(3, 7),
                                      img_soft_labels=torch.softmax(torch.randn(3, 3), -1)),
                     vqa_targets=torch.zeros(4), qid=str(i)) for i, n in enumerate((2, 4))]
    batch = collate_vlp_vqa(ex, 3)
    assert batch.inputs.attn_masks.shape == (2, 9, 9) and int(batch.inputs.img_type_ids.max()) == 0
    with torch.no_grad():
        seq = model(batch.inputs).sequence
        expected = model.ans_classifier(seq[:, 0] * seq[torch.arange(2), torch.tensor([3, 5])])
        torch.testing.assert_close(vlp_vqa_logits(model, batch), expected)
