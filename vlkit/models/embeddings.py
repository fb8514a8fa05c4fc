"""UNITER's text and image embedders (names as UNITER's `uniter.embeddings` / `img_embeddings`).

Text:  LayerNorm(word(input_ids) + position(position_ids) + token_type(txt_type_ids)) -> dropout
Image: LayerNorm(LN_img(img_linear(feat [+ mask_embedding])) + LN_pos(pos_linear(box7))
                 + token_type(img_type_ids)) -> dropout
The image side has no token-type table of its own: the caller passes rows of the text side's
`token_type_embeddings` (type id 1 by default), exactly as UNITER does.
"""

from __future__ import annotations

import torch
from torch import nn

from vlkit.models.config import ModelConfig
from vlkit.modules import Dropout


class TextEmbeddings(nn.Module):
    """Word + position + token-type embeddings, LayerNorm, dropout."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(cfg.vocab_size, cfg.hidden_size, padding_idx=0)
        self.position_embeddings = nn.Embedding(cfg.max_position_embeddings, cfg.hidden_size)
        self.token_type_embeddings = nn.Embedding(cfg.type_vocab_size, cfg.hidden_size)
        self.LayerNorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.dropout = Dropout(cfg.hidden_dropout)

    def forward(self, input_ids: torch.Tensor, position_ids: torch.Tensor,
                txt_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        """input_ids (B, Lt), position_ids (1|B, Lt), txt_type_ids (B, Lt) -> (B, Lt, H)."""
        if txt_type_ids is None:
            txt_type_ids = torch.zeros_like(input_ids)
        emb = (self.word_embeddings(input_ids) + self.position_embeddings(position_ids)
               + self.token_type_embeddings(txt_type_ids))
        return self.dropout(self.LayerNorm(emb))


class ImageEmbeddings(nn.Module):
    """Region feature + 7-d box embeddings, each LayerNormed, plus the image token type."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        h, eps = cfg.hidden_size, cfg.layer_norm_eps
        self.img_linear = nn.Linear(cfg.img_dim, h)
        self.img_layer_norm = nn.LayerNorm(h, eps=eps)
        self.pos_layer_norm = nn.LayerNorm(h, eps=eps)
        self.pos_linear = nn.Linear(7, h)
        # Row 1 is the learned "masked region" vector; row 0 (unmasked) is never used.
        self.mask_embedding = nn.Embedding(2, cfg.img_dim, padding_idx=0)
        self.LayerNorm = nn.LayerNorm(h, eps=eps)
        self.dropout = Dropout(cfg.hidden_dropout)

    def forward(self, img_feat: torch.Tensor, img_pos_feat: torch.Tensor,
                type_embeddings: torch.Tensor, img_masks: torch.Tensor | None = None
                ) -> torch.Tensor:
        """img_feat (B, Nr, D), img_pos_feat (B, Nr, 7), type_embeddings (B, Nr, H),
        img_masks (B, Nr) bool (True = masked region) -> (B, Nr, H).

        UNITER zeroes mask_embedding row 0 in place and adds `mask_embedding(img_masks)`;
        adding row 1 only where masked is the same function without mutating the weights.
        """
        if img_masks is not None:
            img_feat = img_feat + img_masks.unsqueeze(-1).to(img_feat.dtype) \
                * self.mask_embedding.weight[1]
        img = self.img_layer_norm(self.img_linear(img_feat))
        pos = self.pos_layer_norm(self.pos_linear(img_pos_feat))
        return self.dropout(self.LayerNorm(img + pos + type_embeddings))
