"""VL-BERT pre-training: MLM with visual clues, masked RoI classification with linguistic
clues, and MLM on a text-only corpus -- one task per batch (`batch.task`).

- "mlm": caption tokens masked (whole words), every region seen; the masked tokens are
  predicted by `vlbert.mlm_head`.
- "mvrc": regions masked (their feature replaced by the learned masked-region feature -- so
  the whole-image token, the mean of unmasked regions, does not see them either -- and their
  [IMG] token by the masked-region token), every word seen; `vlbert.mvrc_head` predicts the
  detector's class distribution (soft cross entropy against the soft labels).
- "mlm-text": sentences of the text-only corpus, no image ([CLS] w .. [SEP] [END]); text tokens
  carry the learned text-only visual vector.
"""

from __future__ import annotations

import torch
from torch import nn

from vlkit.data.batch import MlmBatch, MrmBatch
from vlkit.data.collate.text import TextMlmBatch
from vlkit.encoder_input import EncoderInput
from vlkit.losses.pretrain import mlm_loss, soft_cross_entropy
from vlkit.utils.errors import ConfigError

VLBERT_PRETRAIN_TASKS = ("mlm", "mvrc", "mlm-text")


def mlm_step(model: nn.Module, batch: MlmBatch | TextMlmBatch
             ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Masked tokens -> vocabulary logits -> cross entropy (caption or text-only batch)."""
    if isinstance(batch, TextMlmBatch):
        out = model(EncoderInput.text_only(batch.input_ids, batch.txt_lens))
    else:
        out = model(batch.inputs)
    masked = batch.txt_labels != -1  # (B, Lt)
    logits = model.head("mlm")(out.sequence[:, :masked.shape[1]][masked])  # (N, V)
    labels = batch.txt_labels[masked]
    loss = mlm_loss(logits.float(), labels).mean()
    acc = (logits.argmax(-1) == labels).float().mean()
    name = batch.task.replace("-", "_")
    return loss, {f"{name}_loss": loss.detach(), f"{name}_acc": acc.detach()}


def mvrc_step(model: nn.Module, batch: MrmBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Masked regions -> detector-class logits -> soft cross entropy against soft labels."""
    if batch.label_targets is None:
        raise ConfigError("task mvrc needs region soft labels, but the image store has none; "
                          "drop it from data.tasks or use a store with soft_labels")
    out = model(batch.inputs)
    logits = model.head("mvrc")(out.regions[batch.inputs.img_masks]).float()  # (M, C)
    loss = soft_cross_entropy(logits, batch.label_targets).mean()
    acc = (logits.argmax(-1) == batch.label_targets.argmax(-1)).float().mean()
    return loss, {"mvrc_loss": loss.detach(), "mvrc_acc": acc.detach()}


class VlBertPretrainObjective:
    """Dispatch on `batch.task` to the matching VL-BERT pre-training loss."""

    def __call__(self, model: nn.Module, batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        if batch.task in ("mlm", "mlm-text"):
            return mlm_step(model, batch)
        if batch.task == "mvrc":
            return mvrc_step(model, batch)
        raise ConfigError(f"unknown VL-BERT pre-training task '{batch.task}'; expected one of "
                          f"{VLBERT_PRETRAIN_TASKS}")
