"""VCR as VL-BERT fine-tunes it (jackroos/VL-BERT `vcr/modules/resnet_vlbert_for_vcr.py`).

Every (question, choice) pair is one row of the shared VCR batch (vlkit.data.collate.vcr):
    Q->A row   [CLS] question [SEP] answer_k [SEP]
    QA->R row  [CLS] question [SEP] answer [SEP] rationale_k [SEP]
VL-BERT's inputs differ from UNITER's in three ways, all made here from the same batch:
- token types: the choice (the row's last segment and its closing [SEP]) is type 1, all
  before it type 0 (VL-BERT's QA->R question is question + answer, one segment); the regions
  are type 2 in the model;
- visual feature of each text token: the region its word refers to (VCR's object tags,
  `batch.inputs.txt_region_ids`) instead of the whole image; untagged tokens keep the whole
  image (VL-BERT's text tags);
- score: `final_mlp` (dropout, Linear(H, 1)) on the pooled [CLS] state, one logit per row.
Loss over the rows of an example (`loss`): "sigmoid" (VL-BERT's published configs,
CLASSIFIER_SIGMOID with positive weight 1: binary cross-entropy of each row against
right/wrong) or "softmax" (cross-entropy over the four choices, VL-BERT's other option).
Either way a choice's probability at evaluation is the softmax of the four scores.
"""

from __future__ import annotations

from dataclasses import replace

import torch
import torch.nn.functional as F
from torch import nn

from vlkit.data.collate.vcr import VcrBatch
from vlkit.encoder_input import EncoderInput
from vlkit.models.vlbert import ANSWER_TYPE, TEXT_TYPE
from vlkit.utils.errors import ConfigError

NUM_CHOICES = 4
LOSSES = ("sigmoid", "softmax")


def vlbert_token_types(txt_type_ids: torch.Tensor) -> torch.Tensor:
    """VCR's types (B, Lt) (0 question, 2 answer, 3 rationale; a [SEP] takes the type of the
    segment it opens) -> VL-BERT's (B, Lt): 1 on the row's last segment after its opening
    [SEP] (the choice and its closing [SEP]), 0 elsewhere (padding too)."""
    last = txt_type_ids.max(dim=1, keepdim=True).values  # (B, 1)
    prev = F.pad(txt_type_ids, (1, 0))[:, :-1]  # type of the position before
    choice = (txt_type_ids == last) & (prev == last) & (last > 0)
    return torch.where(choice, ANSWER_TYPE, TEXT_TYPE)


def vlbert_vcr_inputs(batch: VcrBatch) -> EncoderInput:
    """The batch's B * S rows with VL-BERT's token types."""
    if batch.inputs.txt_type_ids is None:
        raise ConfigError("VL-BERT VCR rows need token types (a vcr store's rows)")
    return replace(batch.inputs, txt_type_ids=vlbert_token_types(batch.inputs.txt_type_ids))


def vlbert_choice_scores(model: nn.Module, batch: VcrBatch) -> torch.Tensor:
    """(B, S) score of every row, example-major."""
    out = model(vlbert_vcr_inputs(batch))
    logits = model.head("vcr")(out.pooled).squeeze(-1).float()  # (B * S,)
    return logits.reshape(-1, batch.rows_per_example)


def choice_loss(scores: torch.Tensor, targets: torch.Tensor, loss: str) -> torch.Tensor:
    """scores (B, S), targets (B, S) 1 right / 0 wrong / -1 unknown -> scalar loss.

    "sigmoid": mean binary cross-entropy over the rows with a known target; "softmax":
    cross-entropy of each group of NUM_CHOICES rows against its right choice.
    """
    if loss == "sigmoid":
        known = targets >= 0
        return F.binary_cross_entropy_with_logits(scores[known], targets[known].to(scores.dtype))
    if loss == "softmax":
        groups = scores.reshape(-1, NUM_CHOICES)
        gold = targets.reshape(-1, NUM_CHOICES)
        labelled = (gold == 1).any(-1)
        return F.cross_entropy(groups[labelled], gold[labelled].argmax(-1))
    raise ConfigError(f"task.loss: unknown VCR loss '{loss}'; choose from {list(LOSSES)}")


class VlBertVcrObjective:
    """Training step: VL-BERT's choice loss, and how often the arg-max choice is right."""

    def __init__(self, loss: str = "sigmoid"):
        if loss not in LOSSES:
            raise ConfigError(f"task.loss: unknown VCR loss '{loss}'; choose from {list(LOSSES)}")
        self.loss = loss

    def __call__(self, model: nn.Module, batch: VcrBatch) -> tuple[torch.Tensor, dict]:
        scores = vlbert_choice_scores(model, batch)  # (B, 4)
        targets = batch.targets.reshape(scores.shape)
        loss = choice_loss(scores, targets, self.loss)
        acc = (scores.argmax(-1) == targets.argmax(-1)).float().mean()
        return loss, {"vcr_loss": loss.detach(), "vcr_acc": acc.detach()}
