"""Collate VLP examples: compact inputs plus the (B, L, L) masks and token types of each mode.

Examples are the usual pair examples (see `vlkit.data.collate`) with, for training,
"vlp_mode" and "txt_labels" from `VlpTransform`, and for decoding "refs" (see
`ImageCaptionDataset`). Region boxes and soft labels become VLP's (N, 6 + C) slot inputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from vlkit.data.batch import CaptionBatch, UniterInputs, VlpBatch, VlpVqaBatch
from vlkit.data.collate.inputs import collate_inputs
from vlkit.data.collate.pad import flatten, pad_flat, pad_rows
from vlkit.data.vlp import BI, S2S, type_ids, vlp_box, vlp_masks


def _vlp_inputs(examples: Sequence[dict], label_dim: int, modes: torch.Tensor) -> tuple[
        UniterInputs, torch.Tensor]:
    boxes = [vlp_box(ex["img_pos_feat"], ex.get("img_soft_labels"), label_dim, ex.get("conf"))
             for ex in examples]
    inputs = collate_inputs([{**ex, "img_pos_feat": box} for ex, box in
                             zip(examples, boxes, strict=True)])
    inputs.img_pos_feat = pad_rows(boxes, torch.float32)
    txt_types, img_types = type_ids(modes, inputs.txt_lens, int(inputs.input_ids.shape[1]),
                                    int(inputs.img_feat.shape[1]))
    inputs.txt_type_ids, inputs.img_type_ids = txt_types, img_types
    return inputs


def collate_vlp(examples: Sequence[dict], label_dim: int) -> VlpBatch:
    """Masked examples (from `VlpTransform`) -> VlpBatch with per-example masks."""
    modes = torch.tensor([int(ex["vlp_mode"]) for ex in examples], dtype=torch.long)
    inputs = _vlp_inputs(examples, label_dim, modes)
    inputs.attn_masks = vlp_masks(modes, inputs.txt_lens, inputs.num_bbs,
                                  int(inputs.attn_masks.shape[1]))
    labels = pad_flat(flatten([ex["txt_labels"] for ex in examples], torch.long),
                      inputs.txt_lens, fill=-1)
    return VlpBatch(inputs=inputs, txt_labels=labels, modes=modes)


def collate_caption(examples: Sequence[dict], label_dim: int) -> CaptionBatch:
    """Prefix examples ([CLS] + regions, "refs", "img_id") -> CaptionBatch for decoding."""
    modes = torch.full((len(examples),), S2S, dtype=torch.long)
    inputs = _vlp_inputs(examples, label_dim, modes)
    return CaptionBatch(inputs=inputs, refs=[list(ex.get("refs", [])) for ex in examples],
                        img_ids=[str(ex["img_id"]) for ex in examples])


def collate_vlp_vqa(examples: Sequence[dict], label_dim: int) -> VlpVqaBatch:
    """VQA examples ("vqa_targets", "qid") -> VlpVqaBatch with bidirectional masks."""
    modes = torch.full((len(examples),), BI, dtype=torch.long)
    inputs = _vlp_inputs(examples, label_dim, modes)
    inputs.attn_masks = vlp_masks(modes, inputs.txt_lens, inputs.num_bbs,
                                  int(inputs.attn_masks.shape[1]))
    targets = torch.stack([torch.as_tensor(ex["vqa_targets"], dtype=torch.float32)
                           for ex in examples])
    return VlpVqaBatch(inputs=inputs, targets=targets,
                       qids=[str(ex["qid"]) for ex in examples])
