"""NLVR2 as UNITER trains it: the variant's head over the encoded pair, 2-way cross-entropy."""

from __future__ import annotations

import torch
from torch import nn

from vlkit.data.batch import Nlvr2Batch
from vlkit.losses.finetune import labelled_cross_entropy
from vlkit.models.nlvr2 import nlvr2_head


def nlvr2_logits(model: nn.Module, batch: Nlvr2Batch) -> torch.Tensor:
    """(B, 2) scores of False (column 0) and True (column 1)."""
    out = model(batch.inputs)
    return nlvr2_head(model, batch.variant, out.sequence, out.pooled,
                      batch.inputs.attn_masks).float()


class Nlvr2Objective:
    def __call__(self, model: nn.Module, batch: Nlvr2Batch
                 ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        logits = nlvr2_logits(model, batch)
        loss = labelled_cross_entropy(logits, batch.targets)
        labelled = batch.targets >= 0
        acc = (logits.argmax(-1) == batch.targets)[labelled].float().mean()
        return loss, {"nlvr2_loss": loss.detach(), "nlvr2_acc": acc.detach()}
