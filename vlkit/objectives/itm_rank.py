"""Retrieval fine-tuning as UNITER does it: a rank score per pair, margin loss per negative.

Sampled negatives (`train_itm.py`): each group is [positive, neg_size other images,
neg_size other texts]; the loss is the mean over every (group, negative) cell.
Hard negatives (`train_itm_hard_negatives.py`, hard_size > 0): the current model (eval
mode, no gradient) scores every candidate of the group, the `hard_size` highest-scored
negative images and negative texts are kept, and the loss is, per group, the mean over
the hard images plus the mean over the hard texts (UNITER's two backward passes), averaged
over groups.
"""

from __future__ import annotations

import torch
from torch import nn

from vlkit.data.batch import RankBatch
from vlkit.data.collate import gather_index
from vlkit.encoder_input import EncoderInput
from vlkit.losses.finetune import rank_loss


def rank_scores(model: nn.Module, inputs: EncoderInput) -> torch.Tensor:
    """(B,) retrieval score of each pair: `rank_output` on the pooled output."""
    out = model(inputs)
    return model.head("rank")(out.pooled).squeeze(-1).float()


def select_pairs(inputs: EncoderInput, rows: torch.Tensor) -> EncoderInput:
    """The pairs `rows` (M,) of a batch, re-padded to their own longest text and image."""
    txt_lens, num_bbs = inputs.txt_lens[rows], inputs.num_bbs[rows]
    max_tl, max_nbb = int(txt_lens.max()), int(num_bbs.max())
    joint = int((txt_lens + num_bbs).max())
    pos = torch.arange(joint, device=txt_lens.device)
    types = inputs.txt_type_ids[rows, :max_tl] if inputs.txt_type_ids is not None else None
    return EncoderInput(
        input_ids=inputs.input_ids[rows, :max_tl],
        position_ids=inputs.position_ids[:, :max_tl],
        img_feat=inputs.img_feat[rows, :max_nbb],
        img_pos_feat=inputs.img_pos_feat[rows, :max_nbb],
        attn_masks=(pos[None] < (txt_lens + num_bbs)[:, None]).long(),
        gather_index=gather_index(txt_lens.cpu(), num_bbs.cpu(), max_tl, joint).to(rows.device),
        txt_lens=txt_lens, num_bbs=num_bbs, txt_type_ids=types)


def hardest_rows(scores: torch.Tensor, batch: RankBatch, hard_size: int) -> torch.Tensor:
    """Rows of [positive, hardest images, hardest texts] per group, group-major.

    scores: (B,) of every pair of `batch`. Returns (G * (1 + k_img + k_txt),) row indices
    with k = min(hard_size, that kind's negatives).
    """
    g, s, n_img = batch.num_groups, batch.sample_size, batch.num_img_neg
    grid = scores.view(g, s)
    base = (torch.arange(g, device=scores.device) * s)[:, None]
    parts = [base]
    for start, count in ((1, n_img), (1 + n_img, batch.num_txt_neg)):
        k = min(hard_size, count)
        if k:
            top = grid[:, start:start + count].topk(k, dim=1).indices + start
            parts.append(base + top)
    return torch.cat(parts, dim=1).reshape(-1)


class ItmRankObjective:
    """Margin ranking loss over ranking groups; `hard_size` > 0 mines hard negatives first."""

    def __init__(self, margin: float = 0.2, hard_size: int = 0):
        self.margin, self.hard_size = margin, hard_size

    def mine(self, model: nn.Module, batch: RankBatch) -> tuple[EncoderInput, int, int]:
        """(inputs of the hard groups, images kept, texts kept) per group."""
        was_training = model.training
        model.eval()
        with torch.no_grad():
            scores = rank_scores(model, batch.inputs)
        model.train(was_training)
        rows = hardest_rows(scores, batch, self.hard_size)
        k_img, k_txt = min(self.hard_size, batch.num_img_neg), min(self.hard_size,
                                                                   batch.num_txt_neg)
        return select_pairs(batch.inputs, rows), k_img, k_txt

    def __call__(self, model: nn.Module, batch: RankBatch) -> tuple[torch.Tensor, dict]:
        inputs, k_img, k_txt = batch.inputs, batch.num_img_neg, batch.num_txt_neg
        if self.hard_size > 0:
            inputs, k_img, k_txt = self.mine(model, batch)
        scores = rank_scores(model, inputs).view(batch.num_groups, 1 + k_img + k_txt)
        cells = rank_loss(scores, self.margin)  # (G, k_img + k_txt)
        if self.hard_size > 0:
            per_group = sum(part.mean(1) for part in (cells[:, :k_img], cells[:, k_img:])
                            if part.shape[1])
            loss = per_group.mean()
        else:
            loss = cells.mean()
        acc = (scores[:, :1] > scores[:, 1:]).all(dim=1).float().mean()
        return loss, {"itm_rank_loss": loss.detach(), "itm_rank_acc": acc.detach()}
