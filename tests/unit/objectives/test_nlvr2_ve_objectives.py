"""NLVR2 and SNLI-VE objectives: UNITER's losses on real collated batches."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from vlkit.data.collate import collate_vqa
from vlkit.data.collate.nlvr2 import collate_nlvr2
from vlkit.data.examples import ImageRegions, Nlvr2Example, PairExample, VqaExample
from vlkit.models.config import ModelConfig
from vlkit.models.nlvr2 import expand_token_types
from vlkit.models.zoo import build_model
from vlkit.objectives.nlvr2 import Nlvr2Objective, nlvr2_logits
from vlkit.objectives.ve import VeObjective

TINY = dict(hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32, vocab_size=40,
            max_position_embeddings=16, img_dim=4, img_label_dim=3)


def _examples(targets: list[int]) -> list[Nlvr2Example]:
    g = torch.Generator().manual_seed(1)
    return [Nlvr2Example(id=f"dev-{k}-0-0", input_ids=torch.tensor([1, 5 + k, 2]),
                         imgs=[ImageRegions(img_id=f"img{k}-{side}",
                                            img_feat=torch.randn(2 + k, 4, generator=g),
                                            img_pos_feat=torch.rand(2 + k, 7, generator=g))
                               for side in range(2)],
                         nlvr2_target=t) for k, t in enumerate(targets)]


@pytest.mark.parametrize("variant", ["paired", "triplet", "paired-attn"])
def test_nlvr2_loss_is_cross_entropy_over_labelled_examples(variant):
    torch.manual_seed(0)
    model = build_model(ModelConfig(**TINY, nlvr2_variant=variant), heads=("nlvr2",)).eval()
    expand_token_types(model.uniter.embeddings)
    batch = collate_nlvr2(_examples([1, 0, -1]), variant)
    loss, logs = Nlvr2Objective()(model, batch)
    logits = nlvr2_logits(model, batch)
    assert logits.shape == (3, 2)
    log_p = logits.log_softmax(-1)
    assert loss.item() == pytest.approx(-(log_p[0, 1] + log_p[1, 0]).item() / 2, rel=1e-5)
    assert 0.0 <= float(logs["nlvr2_acc"]) <= 1.0
    loss.backward()
    assert model.nlvr2_output.weight.grad.abs().sum() > 0


class _FixedScores(nn.Module):
    """Stands in for the encoder: its pooled output is the given scores; the head is identity."""

    def __init__(self, scores: torch.Tensor):
        super().__init__()
        self.scores = scores

    def forward(self, inp: object) -> SimpleNamespace:
        return SimpleNamespace(pooled=self.scores)

    def head(self, name: str) -> nn.Module:
        assert name == "vqa"
        return nn.Identity()


def test_ve_loss_is_uniters_instance_level_bce():
    pair = PairExample(id="p0", img_id="img0", input_ids=torch.tensor([1, 5, 2]),
                       img_feat=torch.zeros(2, 4), img_pos_feat=torch.zeros(2, 7))
    ex = VqaExample(pair=pair, vqa_targets=torch.tensor([0.0, 1.0, 0.0]), qid="p0")
    loss, logs = VeObjective()(_FixedScores(torch.tensor([[2.0, -1.0, 0.0]])), collate_vqa([ex]))
    sig = [1 / (1 + math.exp(-v)) for v in (2.0, -1.0, 0.0)]
    bce = -(math.log(1 - sig[0]) + math.log(sig[1]) + math.log(1 - sig[2])) / 3
    assert loss.item() == pytest.approx(3 * bce, rel=1e-6)
    assert float(logs["ve_acc"]) == 0.0  # arg-max is class 0, the label is 1
