"""Conditional masking for pre-training: one modality is masked, the other is seen whole.

UNITER's rule: an MLM example masks tokens and keeps every region; an MRM (mrfr / mrc)
example masks regions and keeps every token. Each masker touches only its own modality's
fields: it turns each `PairExample` into an `MlmExample` or `MrmExample` (a `TextExample`
into a `TextMlmExample`; see `vlkit.data.examples`), and all draws come from the
`torch.Generator` passed in, so masks are reproducible.

MLM (BERT's recipe): each maskable token is chosen with probability `mask_prob`; a chosen
token becomes [MASK] 80% of the time, a random id from `vocab_range` 10%, and stays 10%;
its label is the original id, every other label is -1. If no token was chosen, one is
forced to [MASK] (UNITER always masks at least one). `focus_ids` optionally raises the
chance of content words (the synthetic-world probe found masking them mattered) while
keeping the expected number of masked tokens at `mask_prob` of the maskable ones.

MRM: each region is masked with probability `mask_prob`, at least one per example; collate
zeroes masked features and gathers their original features / soft labels as targets.

Modules: `tokens` (MlmMasker), `regions` (MrmMasker), `words` (whole-word masking, VL-BERT),
`draws` (the shared draws). The public names are importable from here.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from vlkit.data.masking.regions import MrmMasker
from vlkit.data.masking.tokens import MlmMasker
from vlkit.data.masking.words import WholeWordMasker, continuation_ids
from vlkit.utils.errors import ConfigError

Transform = Callable[[list, torch.Generator], list]  # examples -> masked examples

__all__ = ["MlmMasker", "MrmMasker", "Transform", "WholeWordMasker", "continuation_ids",
           "task_transform"]


def task_transform(task: str, mlm: MlmMasker | None,
                   mrm: MrmMasker | None) -> Transform | None:
    """The masker a pre-training task applies: mlm -> tokens, mrfr/mrc* -> regions, else none."""
    if task == "mlm":
        if mlm is None:
            raise ConfigError("task 'mlm' needs an MlmMasker")
        return mlm
    if task in ("mrfr", "mrc", "mrc-kl"):
        return mrm or MrmMasker()
    return None
