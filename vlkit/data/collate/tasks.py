"""Collate for the single-stream tasks: pre-training (MLM, MRM, ITM), VQA, ranking, referring
expressions; `COLLATE` maps a task name to its collate."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import numpy as np
import torch

from vlkit.data.batch import (
    ItmBatch,
    MlmBatch,
    MrmBatch,
    PlainBatch,
    RankBatch,
    ReBatch,
    VqaBatch,
)
from vlkit.data.collate.inputs import collate_inputs, img_mask_target, ot_scatter
from vlkit.data.collate.pad import flatten, pad_flat, pad_rows, valid_mask
from vlkit.data.examples import (
    ItmExample,
    MlmExample,
    MrmExample,
    PairExample,
    RankExample,
    ReExample,
    VqaExample,
)
from vlkit.utils.errors import DataError


def collate_plain(examples: Sequence[PairExample]) -> PlainBatch:
    """Inputs only (no masking, no targets)."""
    return PlainBatch(inputs=collate_inputs(examples))


def collate_mlm(examples: Sequence[MlmExample]) -> MlmBatch:
    """Examples masked by `MlmMasker` (input_ids with [MASK], txt_labels)."""
    inputs = collate_inputs([ex.pair for ex in examples])
    labels = pad_flat(flatten([ex.txt_labels for ex in examples], torch.long),
                      inputs.txt_lens, fill=-1)
    return MlmBatch(inputs=inputs, txt_labels=labels)


def collate_mrm(examples: Sequence[MrmExample], task: str = "mrfr") -> MrmBatch:
    """Examples masked by `MrmMasker` (img_mask); targets are the masked rows.

    Targets are taken row-major over (example, region), as UNITER does.
    """
    pairs = [ex.pair for ex in examples]
    inputs = collate_inputs(pairs)
    img_masks = pad_rows([torch.as_tensor(ex.img_mask) for ex in examples], torch.bool,
                         fill=False)
    inputs.img_masks = img_masks
    feat_targets = inputs.img_feat[img_masks]  # (M, D), before zeroing
    inputs.img_feat.masked_fill_(img_masks.unsqueeze(-1), 0)
    label_targets = None
    if all(pair.img_soft_labels is not None for pair in pairs):
        label_targets = torch.cat([
            torch.as_tensor(np.asarray(ex.pair.img_soft_labels)[np.asarray(ex.img_mask)],
                            dtype=torch.float32) for ex in examples])
    elif task.startswith("mrc"):
        raise DataError(f"collate: task '{task}' needs region soft labels; the image store "
                        "has none (field 'soft_labels')")
    joint_len = int(inputs.attn_masks.shape[1])
    return MrmBatch(inputs=inputs,
                    img_mask_tgt=img_mask_target(img_masks, inputs.txt_lens, inputs.num_bbs,
                                               joint_len),
                    feat_targets=feat_targets,
                    label_targets=label_targets,
                    task=task)


def collate_itm(examples: Sequence[ItmExample]) -> ItmBatch:
    """Examples from `ItmDataset`; adds the OT inputs."""
    inputs = collate_inputs([ex.pair for ex in examples])
    max_tl, max_nbb = int(inputs.input_ids.shape[1]), int(inputs.img_feat.shape[1])
    scatter = ot_scatter(inputs.txt_lens, max_tl, int(inputs.attn_masks.shape[1]))
    return ItmBatch(inputs=inputs,
                    targets=torch.tensor([int(ex.itm_target) for ex in examples]),
                    ot_scatter=scatter,
                    txt_pad=~valid_mask(inputs.txt_lens, max_tl),
                    img_pad=~valid_mask(inputs.num_bbs, max_nbb),
                    ot_scatter_max=int(scatter.max()))


def collate_vqa(examples: Sequence[VqaExample]) -> VqaBatch:
    """Examples from `VqaDataset` or `VeDataset`."""
    inputs = collate_inputs([ex.pair for ex in examples])
    targets = torch.stack([torch.as_tensor(ex.vqa_targets, dtype=torch.float32)
                           for ex in examples])
    return VqaBatch(inputs=inputs, targets=targets, qids=[str(ex.qid) for ex in examples])


def collate_itm_rank(examples: Sequence[RankExample]) -> RankBatch:
    """Groups from `ItmRankDataset` (S pairs each); the pairs of all groups are flattened
    group-major."""
    if not examples:
        raise DataError("collate: got an empty list of examples")
    sizes = {len(ex.pairs) for ex in examples}
    if len(sizes) != 1:
        raise DataError(f"collate: ranking groups of different sizes {sorted(sizes)}")
    inputs = collate_inputs([pair for ex in examples for pair in ex.pairs])
    return RankBatch(inputs=inputs, sample_size=sizes.pop(),
                     num_img_neg=int(examples[0].num_img_neg),
                     num_txt_neg=int(examples[0].num_txt_neg))


def collate_re(examples: Sequence[ReExample]) -> ReBatch:
    """Examples from `ReDataset`."""
    inputs = collate_inputs([ex.pair for ex in examples])
    return ReBatch(inputs=inputs,
                   targets=torch.tensor([int(ex.re_target) for ex in examples]),
                   region_pad=~valid_mask(inputs.num_bbs, int(inputs.img_feat.shape[1])),
                   region_boxes=inputs.img_pos_feat[:, :, :4].clone(),
                   target_boxes=torch.tensor([list(ex.target_box) for ex in examples],
                                             dtype=torch.float32),
                   ids=[str(ex.pair.id) for ex in examples])


COLLATE: dict[str, Callable] = {
    "plain": collate_plain,
    "mlm": collate_mlm,
    "mrfr": partial(collate_mrm, task="mrfr"),
    "mrc": partial(collate_mrm, task="mrc"),
    "mrc-kl": partial(collate_mrm, task="mrc-kl"),
    "itm": collate_itm,
    "vqa": collate_vqa,
    "itm_rank": collate_itm_rank,
    "re": collate_re,
}
