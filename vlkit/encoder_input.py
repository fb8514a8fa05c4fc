"""`EncoderInput`: the one typed input every model family's `encode` takes.

Collate (vlkit.data) builds it and every model (vlkit.models) reads it, so it lives below
both. Shapes: B rows, Lt = longest text (with [CLS]/[SEP]), Nr = most regions,
L = max(txt_len_i + num_bb_i) (UNITER's compact joint length), D = region feature dim.

The attention form is the per-row lengths `txt_lens` and `num_bbs`; collate derives from
them the compact padding mask `attn_masks` (B, L) and UNITER's `gather_index`, or, for a
family that restricts attention beyond padding (VLP's seq2seq mode), a full (B, L, L)
`attn_masks`. Each family builds what it needs from these:
- UNITER compacts [text | regions] with `gather_index` and masks with `attn_masks`;
- VL-BERT lays out [text, [IMG] whole image, regions, [END]] itself from `txt_lens` and
  `num_bbs` (it reads neither `attn_masks` nor `gather_index`);
- VLP applies the (B, L, L) `attn_masks` it is given over UNITER's compact layout.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import torch


def _move(value: object, device: torch.device | str, non_blocking: bool) -> object:
    if isinstance(value, torch.Tensor | Movable):
        return value.to(device, non_blocking=non_blocking)
    return value


class Movable:
    """`.to(device)` for dataclasses of tensors: returns a new object, tensors moved."""

    def to(self, device: torch.device | str, non_blocking: bool = True):
        moved = {f.name: _move(getattr(self, f.name), device, non_blocking) for f in fields(self)}
        return replace(self, **moved)

    def pin_memory(self):
        """Page-locked copy (DataLoader's `pin_memory=True` calls this)."""
        pinned = {f.name: getattr(self, f.name).pin_memory() for f in fields(self)
                  if isinstance(getattr(self, f.name), torch.Tensor | Movable)}
        return replace(self, **pinned)


@dataclass
class EncoderInput(Movable):
    """The model inputs shared by every single-stream task and family.

    input_ids: (B, Lt) int64, [CLS] w ... [SEP], right-padded with 0; None = image only.
    position_ids: (1|B, Lt) int64, usually arange(Lt), broadcast over rows.
    img_feat: (B, Nr, D) float region features, zero-padded (masked regions zeroed for MRM);
        None = text only.
    img_pos_feat: (B, Nr, 7) float boxes [x1, y1, x2, y2, w, h, w*h] (VLP: (B, Nr, 6 + C)
        region slots), zero-padded.
    attn_masks: (B, L) int64, 1 on the tl_i + nbb_i real positions of the compact sequence,
        or (B, L, L), 1 = position i may attend to j (VLP).
    gather_index: (B, L) int64 into cat([txt (B, Lt), img (B, Nr)], 1): row i =
        [0..tl_i-1, Lt..Lt+nbb_i-1, then identity arange for padding]; None when one modality.
    txt_lens: (B,) int64 true text lengths (with [CLS]/[SEP]).
    num_bbs: (B,) int64 true region counts.
    img_masks: (B, Nr) bool, True = region masked (MRM / MVRC batches only), else None.
    txt_type_ids: (B, Lt) int64 token types, or None (all 0).
    img_type_ids: (B, Nr) int64 region token types, or None (all 1; NLVR2 and VLP set them).
    txt_region_ids: (B, Lt) int64 region each text token refers to, -1 none (VCR's object
        tags; VL-BERT feeds that region's feature to the token), or None.
    record_ids: B record ids (str), or None; they name the records when a step goes wrong.
    Every field may be None where no family that reads it is used (VL-BERT needs neither
    `attn_masks` nor `gather_index`; image-only UNITER input has no text fields).
    """

    input_ids: torch.Tensor | None = None
    position_ids: torch.Tensor | None = None
    img_feat: torch.Tensor | None = None
    img_pos_feat: torch.Tensor | None = None
    attn_masks: torch.Tensor | None = None
    gather_index: torch.Tensor | None = None
    txt_lens: torch.Tensor | None = None
    num_bbs: torch.Tensor | None = None
    img_masks: torch.Tensor | None = None
    txt_type_ids: torch.Tensor | None = None
    img_type_ids: torch.Tensor | None = None
    txt_region_ids: torch.Tensor | None = None
    record_ids: list[str] | None = None

    @classmethod
    def text_only(cls, input_ids: torch.Tensor, txt_lens: torch.Tensor | None = None,
                  txt_type_ids: torch.Tensor | None = None) -> EncoderInput:
        """Sentences without an image: (B, Lt) ids, lengths from the non-zero ids if not given."""
        if txt_lens is None:
            txt_lens = (input_ids != 0).sum(1)
        width = input_ids.shape[1]
        positions = torch.arange(width, device=input_ids.device)
        return cls(input_ids=input_ids, position_ids=positions[None],
                   attn_masks=(positions[None] < txt_lens[:, None]).long(), txt_lens=txt_lens,
                   num_bbs=torch.zeros_like(txt_lens), txt_type_ids=txt_type_ids)

    @property
    def size(self) -> int:
        """Number of rows B."""
        rows = next(t for t in (self.input_ids, self.img_feat, self.attn_masks) if t is not None)
        return int(rows.shape[0])

    @property
    def num_tokens(self) -> int:
        """Real (non-padding) joint tokens: sum of tl_i + nbb_i."""
        if self.attn_masks.dim() == 3:
            return int(self.attn_masks.any(-1).sum())
        return int(self.attn_masks.sum())

    @property
    def padded_tokens(self) -> int:
        """Positions the encoder computes: B * L."""
        return int(self.attn_masks.shape[0] * self.attn_masks.shape[1])
