"""VQA as UNITER trains it: MLP over the pooled output, BCE against soft answer scores."""

from __future__ import annotations

import torch
from torch import nn

from vlkit.data.batch import VqaBatch
from vlkit.losses.finetune import vqa_loss


def vqa_logits(model: nn.Module, batch: VqaBatch) -> torch.Tensor:
    """(B, A) answer scores."""
    out = model(batch.inputs)
    return model.head("vqa")(out.pooled).float()


def soft_accuracy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """VQA accuracy of the arg-max answer: its soft score, averaged over the batch."""
    picked = logits.argmax(-1, keepdim=True)
    return targets.gather(1, picked).mean()


class VqaObjective:
    def __call__(self, model: nn.Module, batch: VqaBatch
                 ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        logits = vqa_logits(model, batch)
        loss = vqa_loss(logits, batch.targets)
        acc = soft_accuracy(logits, batch.targets)
        return loss, {"vqa_loss": loss.detach(), "vqa_acc": acc.detach()}
