"""VCR as UNITER trains it: `vcr_output` on each row's pooled output, 2-way cross-entropy.

A row is one (question, choice) pair; its target is 1 for the right choice and 0 for the
three wrong ones, and the loss is the mean cross-entropy over rows (UNITER's
`UniterForVisualCommonsenseReasoning`). A choice's score is the row's "right" logit.
"""

from __future__ import annotations

import torch
from torch import nn

from vlkit.data.collate.vcr import VcrBatch
from vlkit.losses.finetune import labelled_cross_entropy

NUM_CHOICES = 4


def vcr_logits(model: nn.Module, batch: VcrBatch) -> torch.Tensor:
    """(B * S, 2) wrong/right logits of every row."""
    out = model(batch.inputs)
    return model.head("vcr")(out.pooled).float()


def choice_scores(logits: torch.Tensor, rows_per_example: int) -> torch.Tensor:
    """(B * S, 2) row logits -> (B, S) choice scores (the "right" logit)."""
    return logits[:, 1].reshape(-1, rows_per_example)


def row_choice_scores(model: nn.Module, batch: VcrBatch) -> torch.Tensor:
    """(B, S) choice scores of the batch's examples (UNITER's `vcr_output`)."""
    return choice_scores(vcr_logits(model, batch), batch.rows_per_example)


class VcrObjective:
    """Training step: loss over rows, and how often the arg-max choice is the right one."""

    def __call__(self, model: nn.Module, batch: VcrBatch) -> tuple[torch.Tensor, dict]:
        logits = vcr_logits(model, batch)
        loss = labelled_cross_entropy(logits, batch.targets)
        scores = choice_scores(logits, batch.rows_per_example)[:, :NUM_CHOICES]  # (B, 4)
        gold = batch.targets.reshape(scores.shape[0], -1)[:, :NUM_CHOICES].argmax(-1)  # (B,)
        acc = (scores.argmax(-1) == gold).float().mean()
        return loss, {"vcr_loss": loss.detach(), "vcr_acc": acc.detach()}
