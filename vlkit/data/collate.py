"""Collate per-example dicts into typed batches, with UNITER's compact gather index.

An example (what the task datasets and maskers yield) is a dict:
    "input_ids": (T,) int64 tensor, [CLS] w ... [SEP]
    "img_feat": (N, D) array or tensor, any float dtype (fp16 store rows are fine)
    "img_pos_feat": (N, 7) float boxes
    "img_soft_labels": (N, C) or None            (MRC targets)
    "txt_labels": (T,) int64, -1 = not masked      (after MLM masking)
    "img_mask": (N,) bool, True = masked          (after MRM masking)
    "itm_target": int 1/0                          (ITM)
    "vqa_targets": (A,) float32, "qid": str        (VQA)
    "re_target": int, "target_box": (4,)           (referring expressions)
    "txt_type_ids": (T,) int64 token types         (optional; VCR)
A ranking example (ITM fine-tuning) is {"pairs": [S examples], "num_img_neg", "num_txt_neg"}.
Every index tensor is built with broadcasting over (B, L) positions; the only Python loops
are over examples, copying their rows into the padded outputs. Features become float32.
"""

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
    UniterInputs,
    VqaBatch,
)
from vlkit.utils.errors import DataError

Example = dict


def _flat(arrays: Sequence, dtype: torch.dtype) -> torch.Tensor:
    """Concatenate per-example (n_i, ...) arrays/tensors along dim 0 into one tensor."""
    if isinstance(arrays[0], torch.Tensor):
        return torch.cat([a.to(dtype) for a in arrays])
    return torch.from_numpy(np.concatenate(arrays, axis=0)).to(dtype)


def _valid(lens: torch.Tensor, width: int) -> torch.Tensor:
    """(B, width) bool, True at j < lens[i]."""
    return torch.arange(width).unsqueeze(0) < lens.unsqueeze(1)


def pad_flat(flat: torch.Tensor, lens: torch.Tensor, fill: float = 0) -> torch.Tensor:
    """Scatter a flat (sum(lens), ...) tensor into a right-padded (B, max(lens), ...) tensor."""
    width = int(lens.max())
    out = flat.new_full((len(lens), width, *flat.shape[1:]), fill)
    out[_valid(lens, width)] = flat
    return out


def pad_rows(arrays: Sequence, dtype: torch.dtype, fill: float = 0) -> torch.Tensor:
    """Per-example (n_i, ...) arrays/tensors -> (B, max n_i, ...) of `dtype`, right-padded.

    Numpy rows (e.g. fp16 memory-map views of a store) are first concatenated in their own
    dtype (a plain copy), then cast by torch while copied into place; only padding is filled.
    """
    lens = [len(a) for a in arrays]
    if not isinstance(arrays[0], torch.Tensor):
        flat = torch.from_numpy(np.concatenate(arrays, axis=0))
        starts = np.cumsum([0, *lens[:-1]]).tolist()
        arrays = [flat[s:s + n] for s, n in zip(starts, lens, strict=True)]
    out = torch.empty((len(arrays), max(lens), *arrays[0].shape[1:]), dtype=dtype)
    for i, (arr, n) in enumerate(zip(arrays, lens, strict=True)):
        out[i, :n] = arr
        out[i, n:] = fill
    return out


def gather_index(txt_lens: torch.Tensor, num_bbs: torch.Tensor, max_tl: int,
                 joint_len: int) -> torch.Tensor:
    """(B, L) index into cat([txt (B, max_tl), img (B, Nr)], 1) giving the compact sequence.

    Row i: [0..tl_i-1, max_tl..max_tl+nbb_i-1, then pad positions keep their own index j].
    """
    pos = torch.arange(joint_len).unsqueeze(0)  # (1, L)
    tl, nbb = txt_lens.unsqueeze(1), num_bbs.unsqueeze(1)
    in_img = (pos >= tl) & (pos < tl + nbb)
    return torch.where(in_img, pos - tl + max_tl, pos.expand(len(txt_lens), -1))


def ot_scatter(txt_lens: torch.Tensor, max_tl: int, joint_len: int) -> torch.Tensor:
    """(B, L) inverse of the gather: compact j -> j if j < tl_i else max_tl + j - tl_i."""
    pos = torch.arange(joint_len).unsqueeze(0)
    tl = txt_lens.unsqueeze(1)
    return torch.where(pos < tl, pos, pos - tl + max_tl)


def _img_mask_tgt(img_masks: torch.Tensor, txt_lens: torch.Tensor, num_bbs: torch.Tensor,
                  joint_len: int) -> torch.Tensor:
    """(B, L) bool: False on text positions, img_masks_i on the region positions."""
    pos = torch.arange(joint_len).unsqueeze(0)
    tl = txt_lens.unsqueeze(1)
    in_img = (pos >= tl) & (pos < tl + num_bbs.unsqueeze(1))
    region = (pos - tl).clamp(0, img_masks.shape[1] - 1)
    return torch.gather(img_masks, 1, region) & in_img


def _check(examples: Sequence[Example]) -> None:
    if not examples:
        raise DataError("collate: got an empty list of examples")
    for ex in examples:
        n = len(ex["img_feat"])
        if n < 1 or len(ex["img_pos_feat"]) != n:
            raise DataError(f"collate: example '{ex.get('id', '?')}' has {n} region features "
                            f"and {len(ex['img_pos_feat'])} boxes; expected >= 1 and equal")


def collate_inputs(examples: Sequence[Example]) -> UniterInputs:
    """Pad text and regions and build position ids, attention mask and gather index."""
    _check(examples)
    txt_lens = torch.tensor([len(ex["input_ids"]) for ex in examples], dtype=torch.long)
    num_bbs = torch.tensor([len(ex["img_feat"]) for ex in examples], dtype=torch.long)
    input_ids = pad_flat(_flat([ex["input_ids"] for ex in examples], torch.long), txt_lens)
    img_feat = pad_rows([ex["img_feat"] for ex in examples], torch.float32)
    img_pos_feat = pad_rows([ex["img_pos_feat"] for ex in examples], torch.float32)
    max_tl = int(input_ids.shape[1])
    joint_len = int((txt_lens + num_bbs).max())
    attn_masks = _valid(txt_lens + num_bbs, joint_len).long()
    txt_type_ids = None  # (B, Lt) when the examples carry token types (VCR), padded with 0
    if examples[0].get("txt_type_ids") is not None:
        txt_type_ids = pad_flat(_flat([ex["txt_type_ids"] for ex in examples], torch.long),
                                txt_lens)
    return UniterInputs(
        input_ids=input_ids,
        position_ids=torch.arange(max_tl, dtype=torch.long).unsqueeze(0),
        img_feat=img_feat,
        img_pos_feat=img_pos_feat,
        attn_masks=attn_masks,
        gather_index=gather_index(txt_lens, num_bbs, max_tl, joint_len),
        txt_lens=txt_lens,
        num_bbs=num_bbs,
        txt_type_ids=txt_type_ids,
        record_ids=[str(ex.get("id", "?")) for ex in examples],
    )


def collate_plain(examples: Sequence[Example]) -> PlainBatch:
    """Inputs only (no masking, no targets)."""
    return PlainBatch(inputs=collate_inputs(examples))


def collate_mlm(examples: Sequence[Example]) -> MlmBatch:
    """Examples already masked by `MlmMasker` (input_ids with [MASK], txt_labels)."""
    inputs = collate_inputs(examples)
    labels = pad_flat(_flat([ex["txt_labels"] for ex in examples], torch.long),
                      inputs.txt_lens, fill=-1)
    return MlmBatch(inputs=inputs, txt_labels=labels)


def collate_mrm(examples: Sequence[Example], task: str = "mrfr") -> MrmBatch:
    """Examples carrying "img_mask" (from `MrmMasker`); targets are the masked rows.

    Targets are taken row-major over (example, region), as UNITER does.
    """
    inputs = collate_inputs(examples)
    img_masks = pad_rows([torch.as_tensor(ex["img_mask"]) for ex in examples], torch.bool,
                         fill=False)
    inputs.img_masks = img_masks
    feat_targets = inputs.img_feat[img_masks]  # (M, D), before zeroing
    inputs.img_feat.masked_fill_(img_masks.unsqueeze(-1), 0)
    label_targets = None
    if all(ex.get("img_soft_labels") is not None for ex in examples):
        label_targets = torch.cat([
            torch.as_tensor(np.asarray(ex["img_soft_labels"])[np.asarray(ex["img_mask"])],
                            dtype=torch.float32) for ex in examples])
    elif task.startswith("mrc"):
        raise DataError(f"collate: task '{task}' needs region soft labels; the image store "
                        "has none (field 'soft_labels')")
    joint_len = int(inputs.attn_masks.shape[1])
    return MrmBatch(inputs=inputs,
                    img_mask_tgt=_img_mask_tgt(img_masks, inputs.txt_lens, inputs.num_bbs,
                                               joint_len),
                    feat_targets=feat_targets,
                    label_targets=label_targets,
                    task=task)


def collate_itm(examples: Sequence[Example]) -> ItmBatch:
    """Examples carrying "itm_target" (from `ItmDataset`); adds the OT inputs."""
    inputs = collate_inputs(examples)
    max_tl, max_nbb = int(inputs.input_ids.shape[1]), int(inputs.img_feat.shape[1])
    scatter = ot_scatter(inputs.txt_lens, max_tl, int(inputs.attn_masks.shape[1]))
    return ItmBatch(inputs=inputs,
                    targets=torch.tensor([int(ex["itm_target"]) for ex in examples]),
                    ot_scatter=scatter,
                    txt_pad=~_valid(inputs.txt_lens, max_tl),
                    img_pad=~_valid(inputs.num_bbs, max_nbb),
                    ot_scatter_max=int(scatter.max()))


def collate_vqa(examples: Sequence[Example]) -> VqaBatch:
    """Examples from `VqaDataset` ("vqa_targets" (A,), "qid")."""
    inputs = collate_inputs(examples)
    targets = torch.stack([torch.as_tensor(ex["vqa_targets"], dtype=torch.float32)
                           for ex in examples])
    return VqaBatch(inputs=inputs, targets=targets, qids=[str(ex["qid"]) for ex in examples])


def collate_itm_rank(examples: Sequence[Example]) -> RankBatch:
    """Examples from `ItmRankDataset`: each {"pairs": [S pair examples], "num_img_neg",
    "num_txt_neg"}; the pairs of all examples are flattened group-major."""
    if not examples:
        raise DataError("collate: got an empty list of examples")
    sizes = {len(ex["pairs"]) for ex in examples}
    if len(sizes) != 1:
        raise DataError(f"collate: ranking groups of different sizes {sorted(sizes)}")
    inputs = collate_inputs([pair for ex in examples for pair in ex["pairs"]])
    return RankBatch(inputs=inputs, sample_size=sizes.pop(),
                     num_img_neg=int(examples[0]["num_img_neg"]),
                     num_txt_neg=int(examples[0]["num_txt_neg"]))


def collate_re(examples: Sequence[Example]) -> ReBatch:
    """Examples from `ReDataset` ("re_target" int, "target_box" (4,), "id")."""
    inputs = collate_inputs(examples)
    return ReBatch(inputs=inputs,
                   targets=torch.tensor([int(ex["re_target"]) for ex in examples]),
                   region_pad=~_valid(inputs.num_bbs, int(inputs.img_feat.shape[1])),
                   region_boxes=inputs.img_pos_feat[:, :, :4].clone(),
                   target_boxes=torch.tensor([list(ex["target_box"]) for ex in examples],
                                             dtype=torch.float32),
                   ids=[str(ex["id"]) for ex in examples])


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
