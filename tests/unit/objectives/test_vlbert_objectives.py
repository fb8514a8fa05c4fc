"""VL-BERT objectives: the [MASK] answer slot, soft cross entropy, RefCOCO+ labels/loss, and
pre-training dispatch over caption MLM, MVRC and text-only MLM batches."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vlkit.data.batch import ReBatch
from vlkit.data.collate import collate_inputs, collate_mlm, collate_mrm
from vlkit.data.collate.text import collate_text_mlm
from vlkit.data.examples import MlmExample, MrmExample, PairExample, TextExample, TextMlmExample
from vlkit.losses.pretrain import soft_cross_entropy
from vlkit.models.config import ModelConfig
from vlkit.models.vlbert import VlBert
from vlkit.objectives.vlbert import VlBertPretrainObjective
from vlkit.objectives.vlbert_tasks import (
    VlBertReObjective,
    VlBertVqaObjective,
    vlbert_region_scores,
    with_answer_slot,
)
from vlkit.utils.errors import ConfigError

CFG = ModelConfig(arch="vlbert", hidden_size=32, num_layers=1, num_heads=4, intermediate_size=64,
                  vocab_size=120, max_position_embeddings=32, type_vocab_size=3, img_dim=8,
                  img_label_dim=5, vlbert_geo_dim=2)


def _example(n_txt: int, n_reg: int, seed: int) -> PairExample:
    rng = np.random.default_rng(seed)
    soft = rng.random((n_reg, 5)).astype(np.float32)
    xy = rng.random((n_reg, 2)).astype(np.float32) * 0.5
    boxes = np.concatenate([xy, xy + 0.3, np.full((n_reg, 3), 0.3, np.float32)], 1)
    return PairExample(id=str(seed), img_id=f"img{seed}",
                       input_ids=torch.tensor([2, *range(10, 10 + n_txt), 3]),
                       img_feat=rng.standard_normal((n_reg, 8)).astype(np.float32),
                       img_pos_feat=boxes, img_soft_labels=soft / soft.sum(1, keepdims=True))


def test_answer_slot_appends_mask_sep_with_answer_type():
    inputs = collate_inputs([_example(2, 3, 0), _example(1, 2, 1)])
    assert inputs.input_ids.tolist() == [[2, 10, 11, 3], [2, 10, 3, 0]]
    slotted, slot = with_answer_slot(inputs, mask_id=103, sep_id=3)
    assert slotted.input_ids.tolist() == [[2, 10, 11, 3, 103, 3], [2, 10, 3, 103, 3, 0]]
    assert slotted.txt_type_ids.tolist() == [[0, 0, 0, 0, 1, 1], [0, 0, 0, 1, 1, 0]]
    assert slotted.txt_lens.tolist() == [6, 5] and slot.tolist() == [4, 3]


def test_soft_cross_entropy_by_hand():
    logits = torch.tensor([[0.0, 0.0], [math.log(3.0), 0.0]])
    target = torch.tensor([[0.25, 0.75], [1.0, 0.0]])
    torch.testing.assert_close(soft_cross_entropy(logits, target),
                               torch.tensor([math.log(2.0), -math.log(0.75)]))


def test_vqa_objective_reads_the_answer_slot():
    torch.manual_seed(0)
    model = VlBert(CFG, heads=("vqa",), num_answers=4).eval()
    inputs = collate_inputs([_example(2, 3, 0), _example(1, 2, 1)])
    from vlkit.data.batch import VqaBatch

    batch = VqaBatch(inputs=inputs, targets=torch.tensor([[0, 1.0, 0, 0], [0.3, 0, 0, 0]]),
                     qids=["a", "b"])
    objective = VlBertVqaObjective(mask_id=103, sep_id=3)
    loss, logs = objective(model, batch)
    slotted, slot = with_answer_slot(inputs, 103, 3)
    hidden = model(slotted).sequence[torch.arange(2), slot]
    expected = F.binary_cross_entropy_with_logits(model.final_mlp(hidden), batch.targets) * 4
    torch.testing.assert_close(loss, expected)
    assert set(logs) == {"vqa_loss", "vqa_acc"}


def test_vqa_objective_gives_every_parameter_a_gradient():
    """Its `uses_all_parameters` claim (DDP runs without find_unused_parameters on it)."""
    from vlkit.data.batch import VqaBatch
    from vlkit.train.trainer import find_unused_parameters

    torch.manual_seed(0)
    model = VlBert(CFG, heads=("vqa",), num_answers=4).train()
    batch = VqaBatch(inputs=collate_inputs([_example(2, 3, 0), _example(1, 2, 1)]),
                     targets=torch.tensor([[0, 1.0, 0, 0], [0.3, 0, 0, 0]]), qids=["a", "b"])
    objective = VlBertVqaObjective(mask_id=103, sep_id=3)
    objective(model, batch)[0].backward()
    assert [n for n, p in model.named_parameters() if p.grad is None] == []
    assert find_unused_parameters(objective) is False


def test_re_objective_labels_are_iou_above_half():
    torch.manual_seed(0)
    model = VlBert(CFG, heads=("re",)).eval()
    examples = [_example(2, 3, 0), _example(1, 2, 1)]
    boxes = [[0.0, 0.0, 0.5, 0.5], [0.1, 0.0, 0.6, 0.5], [0.5, 0.5, 1.0, 1.0]]
    for k, box in enumerate(boxes):
        examples[0].img_pos_feat[k, :4] = box
    inputs = collate_inputs(examples)
    batch = ReBatch(inputs=inputs, targets=torch.tensor([0, 1]),
                    region_pad=torch.tensor([[False] * 3, [False, False, True]]),
                    region_boxes=inputs.img_pos_feat[:, :, :4].clone(),
                    target_boxes=torch.tensor([[0.0, 0.0, 0.5, 0.5],
                                               inputs.img_pos_feat[1, 1, :4].tolist()]),
                    ids=["a", "b"])
    # row 0: IoU 1, 0.25 / 0.3 = 0.667 -> positive, 0 -> negative; row 1: region 1 only
    labels = torch.tensor([[1.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    scores = vlbert_region_scores(model, batch)
    assert scores[1, 2] == -1e4
    real = ~batch.region_pad
    loss, logs = VlBertReObjective()(model, batch)
    torch.testing.assert_close(loss, F.binary_cross_entropy_with_logits(scores[real],
                                                                        labels[real]))
    assert set(logs) == {"re_loss", "re_acc"}


def test_pretrain_dispatch_and_gradients():
    torch.manual_seed(0)
    model = VlBert(CFG)
    objective = VlBertPretrainObjective()
    examples = [_example(3, 4, 0), _example(2, 2, 1)]
    masked = examples[0].input_ids.clone().index_fill(0, torch.tensor([1]), 103)
    pairs = [replace(examples[0], input_ids=masked), examples[1]]
    mlm = [MlmExample(pair=p, txt_labels=torch.tensor([-1, 12, -1, -1, -1][:len(p.input_ids)]))
           for p in pairs]
    mrm = [MrmExample(pair=ex, img_mask=np.array([True] + [False] * (len(ex.img_feat) - 1)))
           for ex in examples]
    text = TextMlmExample(text=TextExample(id="t0", input_ids=masked),
                          txt_labels=mlm[0].txt_labels)
    batches = {"mlm": collate_mlm(mlm), "mvrc": collate_mrm(mrm, task="mvrc"),
               "mlm-text": collate_text_mlm([text])}
    for task, batch in batches.items():
        model.zero_grad()
        loss, logs = objective(model, batch)
        name = task.replace("-", "_")
        assert set(logs) == {f"{name}_loss", f"{name}_acc"}
        loss.backward()
        grads = {n for n, p in model.named_parameters() if p.grad is not None}
        head, other = ("vlbert.mvrc_head.", "vlbert.mlm_head.") if task == "mvrc" \
            else ("vlbert.mlm_head.", "vlbert.mvrc_head.")
        assert any(n.startswith(head) for n in grads)
        assert not any(n.startswith(other) for n in grads)
    assert model.aux_text_visual_embedding.weight.grad is not None  # used by mlm-text only
    first = objective(model, batches["mlm"])[0]
    assert abs(float(first.detach()) - math.log(CFG.vocab_size)) < 1.0  # near-uniform at init
    no_labels = collate_mrm([replace(ex, pair=replace(ex.pair, img_soft_labels=None))
                             for ex in mrm], task="mvrc")
    with pytest.raises(ConfigError, match="soft labels"):
        objective(model, no_labels)
