"""Whole-word masking (VL-BERT's `random_word_wwm`): a word's WordPieces are masked together.

A word is a WordPiece that does not start with "##" plus the "##" pieces after it. Words are
chosen exactly as `MlmMasker` chooses tokens (probability `mask_prob`, content-word focus by
the first piece's id, at least one per example, protected [CLS]/[SEP]/[PAD] never), and the
80/10/10 branch is drawn once per word: every piece of a chosen word becomes [MASK], or every
piece a random id, or every piece stays. Every piece of a chosen word is labelled with its
original id. With single-piece words only, this is exactly token masking.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from vlkit.data.examples import MlmExample, PairExample, TextExample, TextMlmExample
from vlkit.data.masking.tokens import Masked, MlmMasker, mlm_examples


def continuation_ids(tokens: list[str]) -> list[int]:
    """Ids of the "##" pieces of a WordPiece vocabulary (tokens in id order)."""
    return [i for i, tok in enumerate(tokens) if tok.startswith("##")]


class WholeWordMasker:
    """Mask whole words of a batch's examples; regions untouched (`MlmMasker`'s interface)."""

    def __init__(self, words: MlmMasker, continuation: Iterable[int]):
        self.words = words
        cont = sorted(set(continuation))
        self.is_cont = torch.zeros(max(cont, default=0) + 1, dtype=torch.bool)
        self.is_cont[torch.tensor(cont, dtype=torch.long)] = True

    def word_index(self, ids: torch.Tensor) -> torch.Tensor:
        """(T,) ids -> (T,) index of the word each piece belongs to (a leading "##" piece
        starts a word of its own)."""
        cont = torch.where(ids < len(self.is_cont),
                           self.is_cont[ids.clamp(max=len(self.is_cont) - 1)], False)
        if len(cont):
            cont[0] = False
        return torch.cumsum(~cont, 0) - 1

    def mask_many(self, seqs: list[torch.Tensor], gen: torch.Generator) -> Masked:
        """Each (T_i,) id tensor -> (masked ids (T_i,), labels (T_i,), -1 where unmasked)."""
        seqs = [torch.as_tensor(s).long() for s in seqs]
        index = [self.word_index(s) for s in seqs]
        firsts = [s[torch.cat([torch.ones(1, dtype=torch.bool), w[1:] != w[:-1]])]
                  for s, w in zip(seqs, index, strict=True)]
        drawn = self.words.mask_many(firsts, gen)  # word-level (masked first piece, label)
        lo, hi = self.words.vocab_range
        out = []
        for ids, words, first, (masked, label) in zip(seqs, index, firsts, drawn, strict=True):
            chosen = (label != -1)[words]  # (T,)
            to_mask = (masked == self.words.mask_id)[words] & chosen
            to_random = ((masked != first) & (masked != self.words.mask_id))[words] & chosen
            random_ids = torch.randint(lo, hi, ids.shape, generator=gen)
            new = torch.where(to_mask, self.words.mask_id, ids)
            new = torch.where(to_random, random_ids, new)
            out.append((new, torch.where(chosen, ids, -1)))
        return out

    def __call__(self, examples: list[PairExample | TextExample],
                 gen: torch.Generator) -> list[MlmExample | TextMlmExample]:
        return mlm_examples(examples, self.mask_many([ex.input_ids for ex in examples], gen))
