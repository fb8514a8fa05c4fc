"""Collate VCR examples (from `vlkit.data.datasets.vcr`) into a `VcrBatch`: one encoder row per
(example, choice), the example's regions repeated on each of its rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from vlkit.data.batch import TaskBatch
from vlkit.data.collate.inputs import collate_inputs
from vlkit.data.collate.pad import pad_flat
from vlkit.data.examples import PairExample, VcrExample
from vlkit.encoder_input import EncoderInput
from vlkit.utils.errors import DataError


@dataclass
class VcrBatch(TaskBatch):
    """B examples of S rows each (S = 4 in training; 8 or 20 at evaluation), example-major.

    inputs: B * S rows, with txt_type_ids (0 question, 2 answer, 3 rationale).
    targets: (B * S,) int64, 1 = the right choice, 0 = a wrong one, -1 = unknown.
    answer_labels, rationale_labels: (B,) int64 gold indices, -1 when unknown.
    ids: list of B annotation ids.
    inputs.txt_region_ids: (B * S, Lt) int64 region each text token refers to (VCR's object
        tags), -1 for none and on padding; None when the rows carry none. VL-BERT feeds that
        region's feature to the token; UNITER does not use it.
    """

    inputs: EncoderInput
    targets: torch.Tensor
    rows_per_example: int
    answer_labels: torch.Tensor
    rationale_labels: torch.Tensor
    ids: list[str]
    task: str = "vcr"

    @property
    def size(self) -> int:
        """Number of examples B (not encoder rows)."""
        return len(self.ids)


def collate_vcr(examples: Sequence[VcrExample]) -> VcrBatch:
    """Examples from the VCR datasets (`vlkit.data.datasets.vcr`) -> VcrBatch."""
    if not examples:
        raise DataError("collate_vcr: got an empty list of examples")
    sizes = {len(ex.rows) for ex in examples}
    if len(sizes) != 1 or any(len(ex.targets) != len(ex.rows) for ex in examples):
        raise DataError(f"collate_vcr: examples must have equally many rows and targets, got "
                        f"row counts {sorted(sizes)}")
    rows = [row for ex in examples for row in ex.rows]
    inputs = collate_inputs([PairExample.of(ex.id, row.input_ids, ex.image, row.txt_type_ids)
                             for ex in examples for row in ex.rows])
    if all(row.txt_region_ids is not None for row in rows):
        flat = torch.cat([torch.as_tensor(row.txt_region_ids, dtype=torch.long) for row in rows])
        inputs.txt_region_ids = pad_flat(flat, inputs.txt_lens, fill=-1)
    return VcrBatch(
        inputs=inputs,
        targets=torch.tensor([t for ex in examples for t in ex.targets], dtype=torch.long),
        rows_per_example=sizes.pop(),
        answer_labels=torch.tensor([int(ex.answer_label) for ex in examples]),
        rationale_labels=torch.tensor([int(ex.rationale_label) for ex in examples]),
        ids=[str(ex.id) for ex in examples],
    )
