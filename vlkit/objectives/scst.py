"""SCST: sample captions, reward them by CIDEr-D against the greedy caption's CIDEr-D.

The baseline is the model's own greedy caption (decoded without gradient, dropout off);
`num_samples` captions per image are sampled with the graph kept (incremental decoding with
cached keys/values, gradient through the cache). Rewards use token-id CIDEr-D with document
frequencies of a fixed corpus (the training references, `vlkit.metrics.cider`).
"""

from __future__ import annotations

import torch
from torch import nn

from vlkit.data.batch import CaptionBatch
from vlkit.generation import BeamConfig, sample
from vlkit.losses.finetune import scst_loss
from vlkit.metrics.cider import CiderD
from vlkit.objectives.caption import IncrementalStepper, decode


def _lengths(tokens: torch.Tensor, end_id: int) -> torch.Tensor:
    """(B,) tokens up to and including the first end token (all of them when none)."""
    is_end = tokens == end_id
    first = torch.where(is_end.any(1), is_end.float().argmax(1) + 1, tokens.shape[1])
    return first


class ScstObjective:
    def __init__(self, cider: CiderD, special: dict[str, int], max_len: int = 20,
                 num_samples: int = 1):
        self.cider, self.special = cider, special
        self.max_len, self.num_samples = max_len, num_samples

    def _rewards(self, captions: list[list[int]], refs: list[list[list[int]]]) -> torch.Tensor:
        return torch.tensor([self.cider.score(c, r) for c, r in zip(captions, refs, strict=True)])

    def __call__(self, model: nn.Module, batch: CaptionBatch
                 ) -> tuple[torch.Tensor, dict[str, torch.Tensor | float]]:
        was_training = model.training
        model.eval()
        with torch.no_grad():
            greedy = decode(model, batch, self.special, BeamConfig(max_len=self.max_len))
        model.train(was_training)
        k, device = self.num_samples, batch.inputs.input_ids.device
        stepper = IncrementalStepper(model, batch, self.special["mask"])
        stepper.reorder(torch.arange(batch.size, device=device).repeat_interleave(k))
        tokens, logprobs = sample(stepper, batch.size * k, self.special["sep"],
                                  self.special["pad"], self.max_len, device=device)
        lengths = _lengths(tokens, self.special["sep"])
        sampled = [row[: n - 1] if row[n - 1] == self.special["sep"] else row[:n]
                   for row, n in zip(tokens.tolist(), lengths.tolist(), strict=True)]
        refs = [r for r in batch.refs for _ in range(k)]
        reward = self._rewards(sampled, refs)
        baseline = self._rewards(greedy, batch.refs).repeat_interleave(k)
        loss = scst_loss(logprobs, lengths.to(device), (reward - baseline).to(device))
        return loss, {"scst_loss": loss.detach(), "reward_sample": float(reward.mean()),
                      "reward_greedy": float(baseline.mean())}
