"""VLP masked-token prediction under the seq2seq or bidirectional mask the batch carries, and
VLP's VQA head."""

from __future__ import annotations

import torch
from torch import nn

from vlkit.data.batch import VlpBatch, VlpVqaBatch
from vlkit.losses.finetune import vqa_loss
from vlkit.losses.pretrain import mlm_loss
from vlkit.models.encoder import text_positions
from vlkit.objectives.vqa import soft_accuracy


class VlpObjective:
    """Cross entropy of the masked caption tokens; logs loss and accuracy per mode."""

    def __call__(self, model: nn.Module, batch: VlpBatch
                 ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        txt_len = batch.txt_labels.shape[1]
        masked = batch.txt_labels != -1  # (B, Lt)
        out = model(batch.inputs,
                    needed=text_positions(masked, batch.inputs.attn_masks.shape[1]))
        logits = model.head("mlm")(out.sequence[:, :txt_len][masked]).float()  # (n_masked, V)
        labels = batch.txt_labels[masked]
        per_token = mlm_loss(logits, labels)
        loss = per_token.mean()
        logs = {"vlp_loss": loss.detach(),
                "vlp_acc": (logits.argmax(-1) == labels).float().mean().detach()}
        token_mode = batch.modes[:, None].expand_as(masked)[masked]  # (n_masked,)
        for mode, name in ((1, "s2s"), (0, "bi")):
            sel = token_mode == mode
            if bool(sel.any()):
                logs[f"{name}_loss"] = per_token[sel].mean().detach()
        return loss, logs


def vlp_vqa_logits(model: nn.Module, batch: VlpVqaBatch) -> torch.Tensor:
    """(B, A) answer scores: VLP's `ans_classifier` on h[CLS] * h[SEP], the [SEP] that closes
    the question (in VLP's layout, the [SEP] between the regions and the question)."""
    seq = model(batch.inputs).sequence  # (B, L, H)
    rows = torch.arange(seq.shape[0], device=seq.device)
    sep = seq[rows, batch.inputs.txt_lens.to(seq.device) - 1]  # (B, H)
    return model.head("vqa")(seq[:, 0] * sep).float()


class VlpVqaObjective:
    """BCE against soft answer scores (as UNITER's VQA loss), VLP's head."""

    def __call__(self, model: nn.Module, batch: VlpVqaBatch
                 ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        logits = vlp_vqa_logits(model, batch)
        loss = vqa_loss(logits, batch.targets)
        return loss, {"vqa_loss": loss.detach(),
                      "vqa_acc": soft_accuracy(logits, batch.targets).detach()}
