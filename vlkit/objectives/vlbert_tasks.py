"""VL-BERT fine-tuning objectives: VQA through a [MASK] answer slot, RefCOCO+ region scoring.

VQA: the question becomes `[CLS] q [SEP] [MASK] [SEP]` (the answer part has token type 1) and
`final_mlp` classifies the [MASK] position's output over the answer vocabulary; the loss is
UNITER's/VL-BERT's BCE against soft scores times the number of answers.
RefCOCO+: `final_mlp` scores every region's output; each region's label is IoU(region box,
referred box) > 0.5 and the loss is the mean binary cross entropy over the real regions.
"""

from __future__ import annotations

from dataclasses import replace

import torch
import torch.nn.functional as F
from torch import nn

from vlkit.data.batch import ReBatch, VqaBatch
from vlkit.encoder_input import EncoderInput
from vlkit.losses.finetune import vqa_loss
from vlkit.metrics.refer import box_iou
from vlkit.models.vlbert import ANSWER_TYPE
from vlkit.objectives.refer import PAD_SCORE
from vlkit.objectives.vqa import soft_accuracy

RE_LABEL_IOU = 0.5  # VL-BERT: a region is positive when its IoU with the referred box is above


def with_answer_slot(inputs: EncoderInput, mask_id: int, sep_id: int
                     ) -> tuple[EncoderInput, torch.Tensor]:
    """VL-BERT's VQA input: append [MASK] [SEP] (token type 1) after each question's [SEP].

    Returns the new input (VL-BERT lays out its sequence from the lengths, so UNITER's compact
    mask and gather index are left as they were) and the answer-slot position of each row (B,).
    """
    ids, tl = inputs.input_ids, inputs.txt_lens
    rows = torch.arange(ids.shape[0], device=ids.device)
    new_ids = F.pad(ids, (0, 2))  # (B, Lt + 2)
    new_ids[rows, tl] = mask_id
    new_ids[rows, tl + 1] = sep_id
    types = torch.zeros_like(new_ids)
    types[rows, tl] = ANSWER_TYPE
    types[rows, tl + 1] = ANSWER_TYPE
    return replace(inputs, input_ids=new_ids, txt_lens=tl + 2, txt_type_ids=types), tl


class VlBertVqaObjective:
    """BCE on the [MASK] answer slot's classifier output; `logits` serves prediction."""

    # Every VL-BERT weight takes part in every VQA batch (the visual feature embedding is added
    # to every token), so DDP need not search for unused parameters (vlkit.train.trainer).
    uses_all_parameters = True

    def __init__(self, mask_id: int, sep_id: int):
        self.mask_id, self.sep_id = mask_id, sep_id

    def logits(self, model: nn.Module, batch: VqaBatch) -> torch.Tensor:
        """(B, A) answer scores."""
        inputs, slot = with_answer_slot(batch.inputs, self.mask_id, self.sep_id)
        out = model(inputs)
        hidden = out.sequence[torch.arange(len(slot), device=slot.device), slot]  # (B, H)
        return model.head("vqa")(hidden).float()

    def __call__(self, model: nn.Module, batch: VqaBatch
                 ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        logits = self.logits(model, batch)
        loss = vqa_loss(logits, batch.targets)
        acc = soft_accuracy(logits, batch.targets)
        return loss, {"vqa_loss": loss.detach(), "vqa_acc": acc.detach()}


def vlbert_region_scores(model: nn.Module, batch: ReBatch) -> torch.Tensor:
    """(B, Nr) score of every region; padding regions get PAD_SCORE."""
    out = model(batch.inputs)
    scores = model.head("re")(out.regions).squeeze(-1).float()
    return scores.masked_fill(batch.region_pad, PAD_SCORE)


class VlBertReObjective:
    """VL-BERT's RefCOCO+ loss: BCE of each real region against IoU > 0.5 with the referred
    box. Logs `re_loss` and `re_acc` (the best-scored region has IoU > 0.5)."""

    def __call__(self, model: nn.Module, batch: ReBatch) -> tuple[torch.Tensor, dict]:
        scores = vlbert_region_scores(model, batch)  # (B, Nr)
        iou = box_iou(batch.region_boxes, batch.target_boxes.unsqueeze(1))  # (B, Nr)
        labels = (iou > RE_LABEL_IOU).to(scores.dtype)
        real = ~batch.region_pad
        loss = F.binary_cross_entropy_with_logits(scores[real], labels[real])
        acc = labels.gather(1, scores.argmax(1, keepdim=True)).mean()
        return loss, {"re_loss": loss.detach(), "re_acc": acc.detach()}
