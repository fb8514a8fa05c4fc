"""Fine-tuning losses: VQA's scaled BCE over soft answer scores, cross-entropy over labelled
rows (NLVR2, VCR), retrieval's margin ranking, and self-critical sequence training."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def vqa_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """UNITER's loss: mean BCE over all (example, answer) cells times the number of answers.
    logits, targets (B, A) -> scalar. SNLI-VE uses it with its 3 classes one-hot."""
    return F.binary_cross_entropy_with_logits(logits, targets) * targets.shape[1]


def labelled_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the rows with a known target (-1 skipped): logits (N, C),
    targets (N,) -> scalar. NLVR2's 2-way head and VCR's right/wrong row logits."""
    return F.cross_entropy(logits, targets, ignore_index=-1)


def rank_loss(scores: torch.Tensor, margin: float = 0.2) -> torch.Tensor:
    """Hinge on sigmoid scores: scores (G, S) raw pair scores, column 0 the matched pair.

    Returns (G, S - 1): max(0, margin + sigmoid(neg) - sigmoid(pos)) for every negative.
    """
    if scores.ndim != 2 or scores.shape[1] < 2:
        raise ValueError(f"scores must be (groups, 1 + negatives), got {tuple(scores.shape)}")
    probs = torch.sigmoid(scores)
    return (margin + probs[:, 1:] - probs[:, :1]).clamp(min=0)


def scst_loss(logprobs: torch.Tensor, lengths: torch.Tensor,
              advantage: torch.Tensor) -> torch.Tensor:
    """-(reward - baseline) * log p(sampled token), averaged over the sampled tokens.

    logprobs (B, T) of the sampled tokens; lengths (B,) tokens per sample (end token
    included); advantage (B,) reward minus the greedy baseline's reward (no gradient).
    Returns a scalar.
    """
    steps = torch.arange(logprobs.shape[1], device=logprobs.device)
    valid = (steps[None, :] < lengths[:, None]).to(logprobs.dtype)  # (B, T)
    weighted = -advantage.detach()[:, None].to(logprobs.dtype) * logprobs * valid
    return weighted.sum() / valid.sum().clamp(min=1.0)
