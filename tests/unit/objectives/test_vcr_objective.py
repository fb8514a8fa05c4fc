"""VCR objective: per-row 2-way cross-entropy, choice scores, accuracy over examples."""

from __future__ import annotations

import math

import torch

from vlkit.losses.finetune import labelled_cross_entropy
from vlkit.objectives.vcr import choice_scores


def test_choice_scores_are_the_right_logit_per_example() -> None:
    logits = torch.tensor([[0.0, float(k)] for k in range(8)])  # rows of 2 examples
    assert choice_scores(logits, 4).tolist() == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_loss_is_mean_cross_entropy_over_known_rows() -> None:
    logits = torch.tensor([[0.0, 0.0], [0.0, math.log(3.0)], [5.0, -5.0]])
    targets = torch.tensor([1, 1, -1])
    # rows: -log(1/2) and -log(3/4); the unknown row is skipped
    expected = (math.log(2.0) + math.log(4.0 / 3.0)) / 2
    assert math.isclose(labelled_cross_entropy(logits, targets).item(), expected, rel_tol=1e-6)
