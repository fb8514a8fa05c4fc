"""Referring expressions as UNITER trains them: a linear score per region, softmax over the
image's regions, cross entropy against the referred region, summed over the batch."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vlkit.data.batch import ReBatch

PAD_SCORE = -1e4  # UNITER masks padding regions with this score


def region_hidden(sequence: torch.Tensor, txt_lens: torch.Tensor, num_regions: int
                  ) -> torch.Tensor:
    """Region part of the compact sequence: (B, L, H) -> (B, Nr, H); row i's regions sit at
    positions txt_lens[i] .. txt_lens[i] + nbb_i - 1 (padding rows are garbage, mask them)."""
    pos = txt_lens[:, None] + torch.arange(num_regions, device=sequence.device)[None]
    index = pos.clamp(max=sequence.shape[1] - 1).unsqueeze(-1).expand(-1, -1, sequence.shape[2])
    return sequence.gather(1, index)


def region_scores(model: nn.Module, batch: ReBatch) -> torch.Tensor:
    """(B, Nr) score of every region; padding regions get PAD_SCORE."""
    out = model(batch.inputs)
    hidden = region_hidden(out.sequence, batch.inputs.txt_lens, batch.region_pad.shape[1])
    scores = model.head("re")(hidden).squeeze(-1).float()
    return scores.masked_fill(batch.region_pad, PAD_SCORE)


class ReObjective:
    """UNITER's `cls` loss: CE over regions, summed over expressions (targets -1 ignored).
    Logs the mean per expression (`re_loss`) and the arg-max accuracy (`re_acc`)."""

    def __call__(self, model: nn.Module, batch: ReBatch) -> tuple[torch.Tensor, dict]:
        scores = region_scores(model, batch)
        loss = F.cross_entropy(scores, batch.targets, ignore_index=-1, reduction="sum")
        known = (batch.targets >= 0).sum().clamp(min=1)
        acc = ((scores.argmax(1) == batch.targets) & (batch.targets >= 0)).sum() / known
        return loss, {"re_loss": (loss / known).detach(), "re_acc": acc.detach()}
