"""Collate VLP examples: compact inputs plus the (B, L, L) masks and token types of each mode.

Examples are `VlpExample`s (from `VlpTransform`) for training, `CaptionExample`s (from
`ImageCaptionDataset`) for decoding and `VqaExample`s for VQA fine-tuning
(`vlkit.data.examples`). Region boxes and soft labels become VLP's (N, 6 + C) slot inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import torch

from vlkit.data.batch import CaptionBatch, VlpBatch, VlpVqaBatch
from vlkit.data.collate.inputs import collate_inputs
from vlkit.data.collate.pad import flatten, pad_flat, pad_rows
from vlkit.data.examples import CaptionExample, PairExample, VlpExample, VqaExample
from vlkit.data.vlp import BI, S2S, type_ids, vlp_box, vlp_masks
from vlkit.encoder_input import EncoderInput


def _vlp_inputs(pairs: Sequence[PairExample], label_dim: int, modes: torch.Tensor) -> tuple[
        EncoderInput, torch.Tensor]:
    boxes = [vlp_box(pair.img_pos_feat, pair.img_soft_labels, label_dim) for pair in pairs]
    inputs = collate_inputs([replace(pair, img_pos_feat=box) for pair, box in
                             zip(pairs, boxes, strict=True)])
    inputs.img_pos_feat = pad_rows(boxes, torch.float32)
    txt_types, img_types = type_ids(modes, inputs.txt_lens, int(inputs.input_ids.shape[1]),
                                    int(inputs.img_feat.shape[1]))
    inputs.txt_type_ids, inputs.img_type_ids = txt_types, img_types
    return inputs


def collate_vlp(examples: Sequence[VlpExample], label_dim: int) -> VlpBatch:
    """Masked examples (from `VlpTransform`) -> VlpBatch with per-example masks."""
    modes = torch.tensor([int(ex.vlp_mode) for ex in examples], dtype=torch.long)
    inputs = _vlp_inputs([ex.pair for ex in examples], label_dim, modes)
    inputs.attn_masks = vlp_masks(modes, inputs.txt_lens, inputs.num_bbs,
                                  int(inputs.attn_masks.shape[1]))
    labels = pad_flat(flatten([ex.txt_labels for ex in examples], torch.long),
                      inputs.txt_lens, fill=-1)
    return VlpBatch(inputs=inputs, txt_labels=labels, modes=modes)


def collate_caption(examples: Sequence[CaptionExample], label_dim: int) -> CaptionBatch:
    """Prefix examples ([CLS] + regions, with their references) -> CaptionBatch for decoding."""
    modes = torch.full((len(examples),), S2S, dtype=torch.long)
    inputs = _vlp_inputs([ex.pair for ex in examples], label_dim, modes)
    return CaptionBatch(inputs=inputs, refs=[list(ex.refs) for ex in examples],
                        img_ids=[str(ex.pair.img_id) for ex in examples])


def collate_vlp_vqa(examples: Sequence[VqaExample], label_dim: int) -> VlpVqaBatch:
    """VQA examples -> VlpVqaBatch with bidirectional masks."""
    modes = torch.full((len(examples),), BI, dtype=torch.long)
    inputs = _vlp_inputs([ex.pair for ex in examples], label_dim, modes)
    inputs.attn_masks = vlp_masks(modes, inputs.txt_lens, inputs.num_bbs,
                                  int(inputs.attn_masks.shape[1]))
    targets = torch.stack([torch.as_tensor(ex.vqa_targets, dtype=torch.float32)
                           for ex in examples])
    return VlpVqaBatch(inputs=inputs, targets=targets,
                       qids=[str(ex.qid) for ex in examples])
