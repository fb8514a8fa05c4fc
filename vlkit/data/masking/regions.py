"""MRM region masking: each region with probability `mask_prob`, at least one per example."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vlkit.data.examples import MrmExample, PairExample
from vlkit.data.masking.draws import check_prob, force_one, segments


@dataclass
class MrmMasker:
    """Choose the regions to mask in a batch's examples; tokens untouched."""

    mask_prob: float = 0.15

    def __post_init__(self) -> None:
        check_prob("mask_prob", self.mask_prob)

    def mask_many(self, num_bbs: list[int], gen: torch.Generator) -> list[torch.Tensor]:
        """(num_bb_i,) bool per example, each with at least one True."""
        lens = torch.tensor(num_bbs)
        seg = segments(lens)
        chosen = torch.rand(len(seg), generator=gen) < self.mask_prob
        chosen |= force_one(chosen, torch.ones(len(seg)), seg, len(num_bbs), gen)
        return list(chosen.split(num_bbs))

    def mask(self, num_bb: int, gen: torch.Generator) -> torch.Tensor:
        return self.mask_many([num_bb], gen)[0]

    def __call__(self, examples: list[PairExample], gen: torch.Generator) -> list[MrmExample]:
        masks = self.mask_many([len(ex.img_feat) for ex in examples], gen)
        return [MrmExample(pair=ex, img_mask=m) for ex, m in zip(examples, masks, strict=True)]
