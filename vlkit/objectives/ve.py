"""SNLI-VE as UNITER trains it: its VQA head with 3 answers, BCE against the one-hot label.

UNITER's `UniterForVisualEntailment` is its VQA model with 3 outputs (parameters
`vqa_output.*`), and train_ve.py scales the mean BCE by the number of classes ("instance-level
BCE"); both are kept so released SNLI-VE checkpoints load and train the same.
"""

from __future__ import annotations

import torch
from torch import nn

from vlkit.data.batch import VqaBatch
from vlkit.losses.finetune import vqa_loss
from vlkit.objectives.vqa import soft_accuracy, vqa_logits


class VeObjective:
    def __call__(self, model: nn.Module, batch: VqaBatch
                 ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        logits = vqa_logits(model, batch)  # (B, 3)
        loss = vqa_loss(logits, batch.targets)
        acc = soft_accuracy(logits, batch.targets)
        return loss, {"ve_loss": loss.detach(), "ve_acc": acc.detach()}
