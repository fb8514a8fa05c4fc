"""The encoder inputs of a batch: padded text and regions, attention mask, UNITER's compact
gather index (and its inverse for optimal transport), from `PairExample`s."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from vlkit.data.collate.pad import flatten, pad_flat, pad_rows, valid_mask
from vlkit.data.examples import PairExample
from vlkit.encoder_input import EncoderInput
from vlkit.utils.errors import DataError


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


def img_mask_target(img_masks: torch.Tensor, txt_lens: torch.Tensor, num_bbs: torch.Tensor,
                  joint_len: int) -> torch.Tensor:
    """(B, L) bool: False on text positions, img_masks_i on the region positions."""
    pos = torch.arange(joint_len).unsqueeze(0)
    tl = txt_lens.unsqueeze(1)
    in_img = (pos >= tl) & (pos < tl + num_bbs.unsqueeze(1))
    region = (pos - tl).clamp(0, img_masks.shape[1] - 1)
    return torch.gather(img_masks, 1, region) & in_img


def check_examples(examples: Sequence[PairExample]) -> None:
    """DataError naming the example unless every one is a PairExample with >= 1 region and
    as many boxes as region features."""
    if not examples:
        raise DataError("collate: got an empty list of examples")
    for ex in examples:
        if not isinstance(ex, PairExample):
            raise DataError(f"collate: expected PairExample examples, got "
                            f"{type(ex).__name__} (vlkit.data.examples)")
        n = len(ex.img_feat)
        if n < 1 or len(ex.img_pos_feat) != n:
            raise DataError(f"collate: example '{ex.id}' has {n} region features "
                            f"and {len(ex.img_pos_feat)} boxes; expected >= 1 and equal")


def collate_inputs(examples: Sequence[PairExample]) -> EncoderInput:
    """Pad text and regions and build position ids, attention mask and gather index."""
    check_examples(examples)
    txt_lens = torch.tensor([len(ex.input_ids) for ex in examples], dtype=torch.long)
    num_bbs = torch.tensor([len(ex.img_feat) for ex in examples], dtype=torch.long)
    input_ids = pad_flat(flatten([ex.input_ids for ex in examples], torch.long), txt_lens)
    img_feat = pad_rows([ex.img_feat for ex in examples], torch.float32)
    img_pos_feat = pad_rows([ex.img_pos_feat for ex in examples], torch.float32)
    max_tl = int(input_ids.shape[1])
    joint_len = int((txt_lens + num_bbs).max())
    attn_masks = valid_mask(txt_lens + num_bbs, joint_len).long()
    txt_type_ids = None  # (B, Lt) when the examples carry token types (VCR), padded with 0
    if examples[0].txt_type_ids is not None:
        txt_type_ids = pad_flat(flatten([ex.txt_type_ids for ex in examples], torch.long),
                                txt_lens)
    return EncoderInput(
        input_ids=input_ids,
        position_ids=torch.arange(max_tl, dtype=torch.long).unsqueeze(0),
        img_feat=img_feat,
        img_pos_feat=img_pos_feat,
        attn_masks=attn_masks,
        gather_index=gather_index(txt_lens, num_bbs, max_tl, joint_len),
        txt_lens=txt_lens,
        num_bbs=num_bbs,
        txt_type_ids=txt_type_ids,
        record_ids=[str(ex.id) for ex in examples],
    )
