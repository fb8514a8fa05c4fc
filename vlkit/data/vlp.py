"""Unified VLP inputs: region slots, seq2seq / bidirectional attention masks, token types.

VLP runs ONE transformer for generation and understanding; only the self-attention mask
changes. vlkit keeps UNITER's compact joint layout, row i = [CLS] w_1 .. w_n [SEP] (tl_i text
positions), then its nbb_i regions, then padding. The masks are (B, L, L), 1 = query (row)
may attend key (column):

- bidirectional: every position sees every real position (BERT).
- seq2seq: every position sees [CLS] and the regions; caption tokens (w_1 .. [SEP]) also see
  the caption tokens up to and including themselves; [CLS] and regions never see the caption.
  So [CLS] + regions form a prefix whose hidden states do not depend on the caption: a
  decoder computes them once and caches their keys and values.

Padding rows see every real key (their outputs are never read). The mode is drawn per example
(`s2s_prob` / `bi_prob`) from the batch's generator, so one batch mixes both.

Region slots: VLP embeds the region feature, a 6-d box (x1, y1, x2, y2, relative area,
detector confidence) and the detector's class probabilities. The box and the class
probabilities are each layer-normalised (no learned scale) here, in the data layer, and
concatenated into the (N, 6 + C) `img_pos_feat` the VLP model projects.
Confidence: the largest non-background class probability (column 0 is background, as in
Visual Genome's 1601 labels); `vlp_box` also takes a detector's confidences directly.

Token types follow VLP's `--new_segment_ids`: bidirectional [CLS]/regions 0 and caption 1,
seq2seq [CLS]/regions 4 and caption 5 (type_vocab_size 6).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F

from vlkit.data.examples import PairExample, VlpExample
from vlkit.data.masking import MlmMasker
from vlkit.utils.errors import ConfigError

BI, S2S = 0, 1
TYPE_IDS = {BI: (0, 1), S2S: (4, 5)}  # mode -> (source = [CLS] and regions, caption)


def vlp_box(box7: np.ndarray | torch.Tensor, soft_labels: np.ndarray | torch.Tensor | None,
            label_dim: int, conf: np.ndarray | torch.Tensor | None = None) -> torch.Tensor:
    """(N, 7) UNITER boxes + (N, C) class probabilities -> (N, 6 + C) normalised VLP slot input.

    [layer_norm(x1, y1, x2, y2, w*h, conf), layer_norm(class probabilities)]; without soft
    labels the class part is zeros (and conf 1).
    """
    box = torch.tensor(np.asarray(box7, dtype=np.float32))
    n = box.shape[0]
    if soft_labels is not None:
        probs = torch.tensor(np.asarray(soft_labels, dtype=np.float32))
        if probs.shape != (n, label_dim):
            raise ConfigError(f"region soft labels are {tuple(probs.shape)}, expected "
                              f"({n}, {label_dim}): set model.img_label_dim={probs.shape[1]}")
    else:
        probs = torch.zeros(n, label_dim)
    if conf is not None:
        score = torch.tensor(np.asarray(conf, dtype=np.float32)).reshape(n)
    elif soft_labels is not None and label_dim > 1:
        score = probs[:, 1:].max(dim=1).values
    else:
        score = torch.ones(n)
    six = torch.cat([box[:, :4], box[:, 6:7], score[:, None]], dim=1)  # (N, 6)
    return torch.cat([F.layer_norm(six, (6,)), F.layer_norm(probs, (label_dim,))], dim=1)


def _positions(txt_lens: torch.Tensor, num_bbs: torch.Tensor, joint_len: int
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(B, L) bool: caption token (w_1 .. [SEP]), visible to all ([CLS] or region), real."""
    pos = torch.arange(joint_len).unsqueeze(0)  # (1, L)
    tl, total = txt_lens.unsqueeze(1), (txt_lens + num_bbs).unsqueeze(1)
    caption = (pos >= 1) & (pos < tl)
    real = pos < total
    return caption, real & ~caption, real


def bidirectional_mask(txt_lens: torch.Tensor, num_bbs: torch.Tensor, joint_len: int
                       ) -> torch.Tensor:
    """(B, L, L) int64: every query sees every real key."""
    _, _, real = _positions(txt_lens, num_bbs, joint_len)
    return real[:, None, :].expand(-1, joint_len, -1).long()


def seq2seq_mask(txt_lens: torch.Tensor, num_bbs: torch.Tensor, joint_len: int
                 ) -> torch.Tensor:
    """(B, L, L) int64: [CLS] + regions bidirectional, caption causal (see module docstring)."""
    caption, source, real = _positions(txt_lens, num_bbs, joint_len)
    pos = torch.arange(joint_len)
    causal = pos[:, None] >= pos[None, :]  # (L, L) key index <= query index
    sees = source[:, None, :] | (caption[:, :, None] & caption[:, None, :] & causal)
    pad_row = ~real[:, :, None]
    return torch.where(pad_row, real[:, None, :], sees).long()


def vlp_masks(modes: torch.Tensor, txt_lens: torch.Tensor, num_bbs: torch.Tensor,
              joint_len: int) -> torch.Tensor:
    """(B, L, L) int64: each row's mask by its mode (B,) (BI or S2S)."""
    s2s = seq2seq_mask(txt_lens, num_bbs, joint_len)
    bi = bidirectional_mask(txt_lens, num_bbs, joint_len)
    return torch.where(modes.bool()[:, None, None], s2s, bi)


def step_mask(prefix_valid: torch.Tensor, num_done: int, num_new: int) -> torch.Tensor:
    """Mask of an incremental decoding step, (B, num_new, Lp + num_done + num_new) int64.

    Keys are [cached prefix (B, Lp) with its padding, num_done cached caption tokens, the
    num_new tokens of this step]; new token j sees the real prefix, every cached token and
    new tokens 0..j -- the rows of `seq2seq_mask` for those positions.
    """
    b = prefix_valid.shape[0]
    done = torch.ones(b, num_done, dtype=torch.long, device=prefix_valid.device)
    causal = torch.ones(num_new, num_new, dtype=torch.long, device=prefix_valid.device).tril()
    old = torch.cat([prefix_valid.long(), done], dim=1)[:, None, :].expand(-1, num_new, -1)
    return torch.cat([old, causal.expand(b, -1, -1)], dim=2)


def type_ids(modes: torch.Tensor, txt_lens: torch.Tensor, max_tl: int, max_nbb: int
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """Token types by mode: txt (B, Lt) with [CLS] = source, rest caption; img (B, Nr)."""
    src = torch.tensor([TYPE_IDS[int(m)][0] for m in modes], dtype=torch.long)
    tgt = torch.tensor([TYPE_IDS[int(m)][1] for m in modes], dtype=torch.long)
    txt = tgt[:, None].expand(-1, max_tl).clone()
    txt[:, 0] = src
    return txt, src[:, None].expand(-1, max_nbb).clone()


class VlpTransform:
    """Per example: draw the mode, then mask caption tokens (masked-token prediction).

    s2s_prob + bi_prob must be 1 (VLP's pre-training uses 0.75 / 0.25, captioning 1 / 0).
    In seq2seq mode the final [SEP] is maskable too (predicting it teaches the decoder to stop);
    bidirectional mode never masks [SEP]. Turns each `PairExample` into a `VlpExample`.
    """

    def __init__(self, s2s_masker: MlmMasker, bi_masker: MlmMasker, s2s_prob: float = 1.0,
                 bi_prob: float = 0.0):
        if min(s2s_prob, bi_prob) < 0 or abs(s2s_prob + bi_prob - 1.0) > 1e-6:
            raise ConfigError(f"task.s2s_prob + task.bi_prob must be 1 (both >= 0), got "
                              f"{s2s_prob} + {bi_prob}")
        self.maskers = {S2S: s2s_masker, BI: bi_masker}
        self.s2s_prob = s2s_prob

    def __call__(self, examples: list[PairExample], gen: torch.Generator) -> list[VlpExample]:
        modes = (torch.rand(len(examples), generator=gen) < self.s2s_prob).long().tolist()
        out: dict[int, VlpExample] = {}
        for mode in (S2S, BI):
            idx = [i for i, m in enumerate(modes) if m == mode]
            if not idx:
                continue
            masked = self.maskers[mode].mask_many(
                [torch.as_tensor(examples[i].input_ids) for i in idx], gen)
            for i, (ids, labels) in zip(idx, masked, strict=True):
                out[i] = VlpExample(pair=replace(examples[i], input_ids=ids), txt_labels=labels,
                                    vlp_mode=mode)
        return [out[i] for i in range(len(examples))]

