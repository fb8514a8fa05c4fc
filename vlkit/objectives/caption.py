"""Caption decoding with a VLP model: incremental (cached) and full-recomputation steppers.

Both implement `vlkit.generation.Stepper` over a `CaptionBatch` and predict token t the way
VLP was trained: a [MASK] at caption position t, seeing [CLS], the regions and tokens 1..t-1
through the seq2seq mask.
- `IncrementalStepper` runs the [CLS] + regions prefix once, then per step only two positions
  (the previous token, whose keys/values join the cache, and the [MASK]).
- `FullStepper` re-runs the whole sequence [CLS] w_1 .. w_{t-1} [MASK] + regions each step
  with the data layer's `seq2seq_mask`; it exists to check the cache and to benchmark it.
"""

from __future__ import annotations

import torch
from torch import nn

from vlkit.data.batch import CaptionBatch
from vlkit.data.collate import gather_index
from vlkit.data.vlp import S2S, TYPE_IDS, seq2seq_mask, step_mask
from vlkit.encoder_input import EncoderInput
from vlkit.generation import BeamConfig, beam_search, greedy

CAPTION_TYPE = TYPE_IDS[S2S][1]


class IncrementalStepper:
    """Cached keys/values of the prefix and of every generated token."""

    def __init__(self, model: nn.Module, batch: CaptionBatch, mask_id: int):
        self.model, self.mask_id = model, mask_id
        _, self.past = model.start(batch.inputs)
        self.prefix_valid = batch.inputs.attn_masks  # (B, Lp)
        self.done = 0  # caption tokens in the cache

    def next_logits(self, tokens: torch.Tensor) -> torch.Tensor:
        b, t = tokens.shape
        if t != self.done + (1 if t else 0):
            raise ValueError(f"incremental decoding got {t} tokens with {self.done} cached")
        mask_col = torch.full((b, 1), self.mask_id, dtype=torch.long, device=tokens.device)
        new = torch.cat([tokens[:, -1:], mask_col], dim=1) if t else mask_col  # (B, n)
        n = new.shape[1]
        positions = torch.arange(t + 1 - (n - 1), t + 2, device=tokens.device)
        hidden, self.past = self.model.step(
            input_ids=new, position_ids=positions[None].expand(b, -1),
            txt_type_ids=torch.full_like(new, CAPTION_TYPE),
            attn_masks=step_mask(self.prefix_valid, self.done, n), past=self.past,
            keep=n - 1)
        self.done += n - 1
        return self.model.head("mlm")(hidden[:, -1])  # (B, V)

    def reorder(self, index: torch.Tensor) -> None:
        self.past = [(k.index_select(0, index), v.index_select(0, index)) for k, v in self.past]
        self.prefix_valid = self.prefix_valid.index_select(0, index)


class FullStepper:
    """Recomputes [CLS] tokens [MASK] + regions from scratch at every step."""

    def __init__(self, model: nn.Module, batch: CaptionBatch, mask_id: int):
        self.model, self.mask_id = model, mask_id
        inputs = batch.inputs
        self.cls_col = inputs.input_ids[:, :1]
        self.img = {"img_feat": inputs.img_feat, "img_pos_feat": inputs.img_pos_feat,
                    "img_type_ids": inputs.img_type_ids, "num_bbs": inputs.num_bbs}

    def next_logits(self, tokens: torch.Tensor) -> torch.Tensor:
        b, t = tokens.shape
        device = tokens.device
        mask_col = torch.full((b, 1), self.mask_id, dtype=torch.long, device=device)
        ids = torch.cat([self.cls_col, tokens, mask_col], dim=1)  # (B, t + 2)
        txt_lens = torch.full((b,), t + 2, dtype=torch.long)
        num_bbs = self.img["num_bbs"].cpu()
        joint = int((txt_lens + num_bbs).max())
        types = torch.full_like(ids, CAPTION_TYPE)
        types[:, 0] = TYPE_IDS[S2S][0]
        out = self.model(EncoderInput(
            input_ids=ids, position_ids=torch.arange(t + 2, device=device)[None],
            img_feat=self.img["img_feat"], img_pos_feat=self.img["img_pos_feat"],
            attn_masks=seq2seq_mask(txt_lens, num_bbs, joint).to(device),
            gather_index=gather_index(txt_lens, num_bbs, t + 2, joint).to(device),
            txt_lens=txt_lens.to(device), num_bbs=num_bbs.to(device), txt_type_ids=types,
            img_type_ids=self.img["img_type_ids"]))
        return self.model.head("mlm")(out.sequence[:, t + 1])  # (B, V)

    def reorder(self, index: torch.Tensor) -> None:
        self.cls_col = self.cls_col.index_select(0, index)
        self.img = {k: v.index_select(0, index.to(v.device)) for k, v in self.img.items()}


def decode(model: nn.Module, batch: CaptionBatch, special: dict[str, int], cfg: BeamConfig,
           incremental: bool = True) -> list[list[int]]:
    """Captions (token ids without [SEP]) of a batch by greedy (beam_size 1) or beam search."""
    stepper_cls = IncrementalStepper if incremental else FullStepper
    stepper = stepper_cls(model, batch, special["mask"])
    device = batch.inputs.input_ids.device
    if cfg.beam_size == 1:
        return greedy(stepper, batch.size, special["sep"], special["pad"], cfg, device)
    return beam_search(stepper, batch.size, special["sep"], special["pad"], cfg, device)
