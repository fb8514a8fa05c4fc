"""Text-only MLM batches (the text-only corpus of VL-BERT's pre-training)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from vlkit.data.collate.pad import flatten, pad_flat
from vlkit.data.examples import TextMlmExample
from vlkit.encoder_input import Movable
from vlkit.utils.errors import DataError


@dataclass
class TextMlmBatch(Movable):
    """Masked language modelling on text alone.

    input_ids: (B, Lt) int64 [CLS] w ... [SEP] (masked), right-padded with 0.
    txt_lens: (B,) int64 true lengths.
    txt_labels: (B, Lt) int64, the original id at masked positions, -1 elsewhere.
    """

    input_ids: torch.Tensor
    txt_lens: torch.Tensor
    txt_labels: torch.Tensor
    task: str = "mlm-text"

    @property
    def size(self) -> int:
        return int(self.input_ids.shape[0])

    @property
    def num_tokens(self) -> int:
        return int(self.txt_lens.sum())


def collate_text_mlm(examples: Sequence[TextMlmExample]) -> TextMlmBatch:
    """Text examples masked by an MLM masker."""
    if not examples:
        raise DataError("collate: got an empty list of examples")
    lens = torch.tensor([len(ex.text.input_ids) for ex in examples], dtype=torch.long)
    ids = pad_flat(flatten([ex.text.input_ids for ex in examples], torch.long), lens)
    labels = pad_flat(flatten([ex.txt_labels for ex in examples], torch.long), lens, fill=-1)
    return TextMlmBatch(input_ids=ids, txt_lens=lens, txt_labels=labels)
