"""Pre-training losses, unreduced: MLM and ITM cross-entropy, UNITER's three masked region
modelling variants (over the masked regions only) and VL-BERT's soft-label RoI classification.
Each returns per-row (or per-element) losses; the objective reduces them."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def mlm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-token cross entropy. logits (N, V) of the masked tokens, labels (N,) -> (N,).

    Select the masked rows first (UNITER: `txt_labels != -1`); reduce with `.mean()`.
    """
    return F.cross_entropy(logits, labels, reduction="none")


def itm_loss(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-pair cross entropy: scores (B, 2), targets (B,) with 1 = matched -> (B,)."""
    return F.cross_entropy(scores, targets, reduction="none")


def mrfr_loss(pred_feat: torch.Tensor, target_feat: torch.Tensor) -> torch.Tensor:
    """Feature regression: elementwise squared error (N, D), (N, D) -> (N, D)."""
    return F.mse_loss(pred_feat, target_feat, reduction="none")


def mrc_loss(logits: torch.Tensor, soft_labels: torch.Tensor) -> torch.Tensor:
    """Hard-label classification (N, C), (N, C) -> (N,).

    The target is the detector's most likely class ignoring background column 0
    (argmax over columns 1.. plus 1); class 0 is also the ignore index, as in UNITER.
    """
    target = soft_labels[:, 1:].argmax(dim=-1) + 1
    return F.cross_entropy(logits, target, ignore_index=0, reduction="none")


def mrc_kl_loss(logits: torch.Tensor, soft_labels: torch.Tensor) -> torch.Tensor:
    """KL(soft_labels || softmax(logits)) elementwise (N, C) -> (N, C); reduce with `.mean()`."""
    return F.kl_div(F.log_softmax(logits, dim=-1), soft_labels, reduction="none")


def soft_cross_entropy(logits: torch.Tensor, soft_labels: torch.Tensor) -> torch.Tensor:
    """-sum_c p_c log softmax(logits)_c per row: (N, C), (N, C) -> (N,); reduce with `.mean()`.

    Equals KL(p || softmax) plus the entropy of p, so it has mrc-kl's gradient; VL-BERT
    optimises this form against the detector's class distribution.
    """
    return -(soft_labels * F.log_softmax(logits, dim=-1)).sum(-1)
