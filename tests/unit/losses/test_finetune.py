"""Fine-tuning losses by hand: UNITER's margin ranking loss on sigmoid scores, SCST."""

from __future__ import annotations

import math

import pytest
import torch

from vlkit.losses.finetune import rank_loss, scst_loss


def test_hinge_on_sigmoid_scores():
    # sigmoid(0) = 0.5, sigmoid(ln 3) = 0.75, sigmoid(-ln 3) = 0.25
    scores = torch.tensor([[0.0, 0.0, math.log(3)], [math.log(3), -math.log(3), 0.0]])
    loss = rank_loss(scores, margin=0.2)
    expected = torch.tensor([[0.2, 0.2 + 0.25], [0.0, 0.2 + 0.5 - 0.75 + 0.0]]).clamp(min=0)
    assert torch.allclose(loss, expected, atol=1e-6)


def test_well_separated_pairs_cost_nothing():
    assert rank_loss(torch.tensor([[20.0, -20.0, -20.0]]), margin=0.2).sum() == 0


def test_needs_a_positive_and_a_negative():
    with pytest.raises(ValueError):
        rank_loss(torch.zeros(3, 1))


def test_scst_loss_by_hand():
    logp = torch.tensor([[-1.0, -2.0, -3.0], [-0.5, -0.5, -9.0]], requires_grad=True)
    # row 0: 2 tokens, advantage +0.5; row 1: 1 token, advantage -1
    loss = scst_loss(logp, torch.tensor([2, 1]), torch.tensor([0.5, -1.0]))
    # -(0.5 * -1 + 0.5 * -2 + -1 * -0.5) / 3 tokens = -(-0.5 - 1 + 0.5) / 3 = 1/3
    assert float(loss.detach()) == pytest.approx(1 / 3)
    loss.backward()
    # raising a positively rewarded token's log-prob lowers the loss; padding gets nothing
    assert logp.grad.flatten().tolist() == pytest.approx([-0.5 / 3, -0.5 / 3, 0.0, 1 / 3, 0.0, 0.0])
