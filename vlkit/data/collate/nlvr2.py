"""Collate NLVR2 examples (from `Nlvr2Dataset`) into an `Nlvr2Batch`, per UNITER variant.

- paired / paired-attn: example k becomes encoder rows 2k = [sentence | left regions] and
  2k+1 = [sentence | right regions]; region types 1 on left rows, 2 on right rows.
- triplet: example k becomes one row [sentence | left regions | right regions]; the regions
  are concatenated before collation, so the ordinary compact gather index places the left
  image's regions right after the text and the right image's right after those; region
  types 1 for the first n_left regions, 2 for the next n_right.
Padding regions have type 0 (they are masked out of attention anyway).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import numpy as np
import torch

from vlkit.data.batch import Nlvr2Batch
from vlkit.data.collate.inputs import collate_inputs
from vlkit.data.examples import Array, ImageRegions, Nlvr2Example, PairExample
from vlkit.data.records import JOIN
from vlkit.utils.errors import DataError


def _cat_rows(a: Array, b: Array) -> Array:
    """Concatenate two (n, ...) region arrays/tensors along dim 0, keeping their kind."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return torch.cat([torch.as_tensor(a), torch.as_tensor(b)])
    return np.concatenate([a, b], axis=0)


def _paired_rows(examples: Sequence[Nlvr2Example]) -> tuple[list[PairExample], torch.Tensor]:
    rows = [PairExample.of(ex.id, ex.input_ids, img) for ex in examples for img in ex.imgs]
    types = torch.tensor([1, 2] * len(examples), dtype=torch.long)  # (2B,)
    return rows, types


def _joined(left: ImageRegions, right: ImageRegions) -> ImageRegions:
    """The left image's regions followed by the right one's."""
    return ImageRegions(img_id=f"{left.img_id}{JOIN}{right.img_id}",
                        img_feat=_cat_rows(left.img_feat, right.img_feat),
                        img_pos_feat=_cat_rows(left.img_pos_feat, right.img_pos_feat))


def _triplet_rows(examples: Sequence[Nlvr2Example]) -> tuple[list[PairExample], torch.Tensor]:
    rows = [PairExample.of(ex.id, ex.input_ids, _joined(*ex.imgs)) for ex in examples]
    num_left = torch.tensor([len(ex.imgs[0].img_feat) for ex in examples])  # (B,)
    return rows, num_left


def collate_nlvr2(examples: Sequence[Nlvr2Example], variant: str = "paired-attn"
                  ) -> Nlvr2Batch:
    """Examples from `Nlvr2Dataset` -> Nlvr2Batch laid out as `variant` wants."""
    if any(len(ex.imgs) != 2 for ex in examples):
        raise DataError("collate_nlvr2: every example needs exactly two images [left, right]")
    if variant == "triplet":
        rows, num_left = _triplet_rows(examples)
        inputs = collate_inputs(rows)
        width = int(inputs.img_feat.shape[1])
        pos = torch.arange(width).unsqueeze(0)  # (1, Nr)
        img_type_ids = torch.where(pos < num_left.unsqueeze(1), 1, 2)  # (B, Nr)
    elif variant in ("paired", "paired-attn"):
        rows, types = _paired_rows(examples)
        inputs = collate_inputs(rows)
        img_type_ids = types.unsqueeze(1).expand(-1, int(inputs.img_feat.shape[1]))  # (2B, Nr)
    else:
        raise DataError(f"collate_nlvr2: unknown variant '{variant}'; choose from "
                        "paired, triplet, paired-attn")
    valid = torch.arange(img_type_ids.shape[1]).unsqueeze(0) < inputs.num_bbs.unsqueeze(1)
    inputs.img_type_ids = torch.where(valid, img_type_ids, 0).contiguous()
    return Nlvr2Batch(inputs=inputs,
                      targets=torch.tensor([int(ex.nlvr2_target) for ex in examples]),
                      ids=[str(ex.id) for ex in examples],
                      variant=variant)


NLVR2_COLLATE: dict[str, Callable] = {
    v: partial(collate_nlvr2, variant=v) for v in ("paired", "triplet", "paired-attn")
}
