"""MLM token masking (BERT's 80/10/10 recipe, at least one token per example)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

import torch

from vlkit.data.examples import MlmExample, PairExample, TextExample, TextMlmExample
from vlkit.data.masking.draws import check_prob, force_one, per_example_sum, segments
from vlkit.utils.errors import ConfigError

Masked = list[tuple[torch.Tensor, torch.Tensor]]


def mlm_examples(examples: Sequence[PairExample | TextExample],
                 masked: Masked) -> list[MlmExample | TextMlmExample]:
    """Each example with its (masked ids (T,), labels (T,)): an `MlmExample` for a pair, a
    `TextMlmExample` for a text alone."""
    out: list[MlmExample | TextMlmExample] = []
    for ex, (ids, labels) in zip(examples, masked, strict=True):
        if isinstance(ex, PairExample):
            out.append(MlmExample(pair=replace(ex, input_ids=ids), txt_labels=labels))
        else:
            out.append(TextMlmExample(text=replace(ex, input_ids=ids), txt_labels=labels))
    return out


class MlmMasker:
    """Mask the tokens of a batch's examples; regions untouched.

    mask_id: the [MASK] id. vocab_range: (lo, hi), random replacements are drawn from
    [lo, hi) (UNITER uses (999, vocab_size) for BERT's vocabulary, skipping [unused*]).
    protected_ids: ids never masked ([CLS], [SEP], [PAD]).
    focus_ids: ids to prefer; focus_weight: their relative weight (1.0 = no preference).
    All examples of a batch are masked in one vectorised pass over their concatenated ids.
    """

    def __init__(self, mask_id: int, vocab_range: tuple[int, int],
                 protected_ids: Iterable[int] = (), mask_prob: float = 0.15,
                 focus_ids: Iterable[int] | None = None, focus_weight: float = 1.0):
        check_prob("mask_prob", mask_prob)
        lo, hi = vocab_range
        if not 0 <= lo < hi:
            raise ConfigError(f"vocab_range must be (lo, hi) with 0 <= lo < hi, got {vocab_range}")
        if focus_weight <= 0:
            raise ConfigError(f"focus_weight must be > 0, got {focus_weight}")
        self.mask_id = mask_id
        self.vocab_range = (int(lo), int(hi))
        self.mask_prob = mask_prob
        protected = sorted(set(protected_ids))
        focus = sorted(set(focus_ids or ()))
        # weight of every id below `size`; ids beyond it weigh 1
        size = max([hi, mask_id + 1, *[i + 1 for i in protected], *[i + 1 for i in focus]])
        self.weights = torch.ones(size)
        self.weights[torch.tensor(focus, dtype=torch.long)] = focus_weight
        self.weights[torch.tensor(protected, dtype=torch.long)] = 0.0

    def token_weights(self, ids: torch.Tensor) -> torch.Tensor:
        """(S,) float: 0 for protected ids, focus_weight for focus ids, 1 otherwise."""
        inside = ids < len(self.weights)
        return torch.where(inside, self.weights[ids.clamp(max=len(self.weights) - 1)], 1.0)

    def mask_many(self, seqs: list[torch.Tensor], gen: torch.Generator) -> Masked:
        """Each (T_i,) id tensor -> (masked ids (T_i,), labels (T_i,) with -1 where unmasked)."""
        lens = torch.tensor([len(s) for s in seqs])
        ids, seg, n = torch.cat(seqs).long(), segments(lens), len(seqs)
        weight = self.token_weights(ids)
        # scale so each example expects mask_prob of its maskable tokens
        n_maskable = per_example_sum((weight > 0).float(), seg, n)
        scale = n_maskable / per_example_sum(weight, seg, n).clamp(min=1e-12)
        probs = (self.mask_prob * weight * scale[seg]).clamp(max=1.0)
        u = torch.rand(ids.shape, generator=gen)
        chosen = u < probs
        forced = force_one(chosen, probs, seg, n, gen)
        chosen |= forced
        u = torch.where(forced, 0.0, u)  # a forced token takes the [MASK] branch, as in UNITER
        # u / p is uniform on [0, 1) given u < p: it picks the 80/10/10 branch.
        branch = u / probs.clamp(min=1e-12)
        random_ids = torch.randint(*self.vocab_range, ids.shape, generator=gen)
        out = torch.where(chosen & (branch < 0.8), self.mask_id, ids)
        out = torch.where(chosen & (branch >= 0.8) & (branch < 0.9), random_ids, out)
        labels = torch.where(chosen, ids, -1)
        sizes = lens.tolist()
        return list(zip(out.split(sizes), labels.split(sizes), strict=True))

    def mask(self, input_ids: torch.Tensor,
             gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """One (T,) id tensor -> (masked ids, labels)."""
        return self.mask_many([torch.as_tensor(input_ids)], gen)[0]

    def __call__(self, examples: list[PairExample | TextExample],
                 gen: torch.Generator) -> list[MlmExample | TextMlmExample]:
        masked = self.mask_many([torch.as_tensor(ex.input_ids) for ex in examples], gen)
        return mlm_examples(examples, masked)
