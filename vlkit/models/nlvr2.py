"""UNITER's three NLVR2 heads, with the released checkpoints' parameter names.

An NLVR2 example is a sentence and two images (left, right). `cfg.nlvr2_variant` picks how the
encoder sees them and what the head does:
- `paired`: two rows per example, [sentence | left regions] and [sentence | right regions]
  (rows 2k, 2k+1 of the batch); `nlvr2_output` = Linear(2H, 2) over the two pooled outputs
  concatenated.
- `triplet`: one row per example, [sentence | left regions | right regions];
  `nlvr2_output` = Linear(H, 2) over the pooled output.
- `paired-attn`: rows as `paired`; each row's whole sequence attends to its partner's
  (`attn1` left->right, `attn2` right->left, multi-head), `fc` fuses [attended, own] per
  position, `attn_pool` pools each sequence to one vector, `nlvr2_output` = Linear(2H, 2).
In every variant region token types say which image a region came from (1 = left,
2 = right), so the token-type table has 3 rows; `expand_token_types` grows a pre-trained
2-row table the way UNITER does (row 2 starts as a copy of row 1).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vlkit.models.config import ModelConfig
from vlkit.modules import Dropout

NLVR2_VARIANTS = ("paired", "triplet", "paired-attn")
NLVR2_TYPE_VOCAB = 3  # text, left image, right image


class AttentionPool(nn.Module):
    """Softmax-weighted sum over positions, scored by Linear(H, 1) + ReLU. (B, T, H) -> (B, H)."""

    def __init__(self, hidden_size: int, dropout: float = 0.0):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(hidden_size, 1), nn.ReLU())
        self.dropout = Dropout(dropout)

    def forward(self, x: torch.Tensor, pad: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, T, H); pad (B, T) bool, True = padding (gets a -1e4 score, as in UNITER)."""
        score = self.fc(x).squeeze(-1)  # (B, T)
        if pad is not None:
            score = score - 1e4 * pad.to(score.dtype)
        weights = self.dropout(F.softmax(score, dim=1))  # (B, T)
        return torch.bmm(weights.unsqueeze(1), x).squeeze(1)  # (B, H)


def nlvr2_modules(cfg: ModelConfig) -> dict[str, nn.Module]:
    """The head submodules of `cfg.nlvr2_variant`, keyed by their attribute names on the model."""
    h = cfg.hidden_size
    if cfg.nlvr2_variant == "triplet":
        return {"nlvr2_output": nn.Linear(h, 2)}
    if cfg.nlvr2_variant == "paired":
        return {"nlvr2_output": nn.Linear(2 * h, 2)}
    if cfg.nlvr2_variant == "paired-attn":
        def cross() -> nn.MultiheadAttention:
            return nn.MultiheadAttention(h, cfg.num_heads, dropout=cfg.attention_dropout,
                                         batch_first=True)
        return {
            "attn1": cross(),
            "attn2": cross(),
            "fc": nn.Sequential(nn.Linear(2 * h, h), nn.ReLU(), Dropout(cfg.hidden_dropout)),
            "attn_pool": AttentionPool(h, cfg.attention_dropout),
            "nlvr2_output": nn.Linear(2 * h, 2),
        }
    raise ValueError(f"unknown nlvr2_variant '{cfg.nlvr2_variant}'; choose from "
                     f"{list(NLVR2_VARIANTS)}")


def _paired_attn(model: nn.Module, sequence: torch.Tensor, attn_masks: torch.Tensor
                 ) -> torch.Tensor:
    """sequence (2B, L, H), attn_masks (2B, L) -> (B, 2H) pooled [left, right]."""
    pad = attn_masks == 0  # (2B, L)
    left, right = sequence[0::2], sequence[1::2]  # (B, L, H) each
    left_pad, right_pad = pad[0::2], pad[1::2]  # (B, L) each
    l2r, _ = model.attn1(left, right, right, key_padding_mask=right_pad, need_weights=False)
    r2l, _ = model.attn2(right, left, left, key_padding_mask=left_pad, need_weights=False)
    left = model.fc(torch.cat([l2r, left], dim=-1))  # (B, L, H)
    right = model.fc(torch.cat([r2l, right], dim=-1))
    return torch.cat([model.attn_pool(left, left_pad), model.attn_pool(right, right_pad)], -1)


def nlvr2_head(model: nn.Module, variant: str, sequence: torch.Tensor, pooled: torch.Tensor,
               attn_masks: torch.Tensor) -> torch.Tensor:
    """(B, 2) False/True scores from the encoder outputs of an NLVR2 batch.

    paired / paired-attn: sequence (2B, L, H), pooled (2B, H), attn_masks (2B, L), rows 2k
    and 2k+1 the left and right image of example k. triplet: (B, L, H), (B, H), (B, L).
    """
    if variant == "triplet":
        return model.nlvr2_output(pooled)
    if variant == "paired":
        return model.nlvr2_output(pooled.reshape(pooled.shape[0] // 2, -1))  # (B, 2H) -> (B, 2)
    if variant == "paired-attn":
        return model.nlvr2_output(_paired_attn(model, sequence, attn_masks))
    raise ValueError(f"unknown nlvr2_variant '{variant}'; choose from {list(NLVR2_VARIANTS)}")


@torch.no_grad()
def expand_token_types(embeddings: nn.Module, num_types: int = NLVR2_TYPE_VOCAB) -> bool:
    """Grow `embeddings.token_type_embeddings` to `num_types` rows; True when it changed.

    Existing rows are kept; each new row copies the last old one (the image type), as
    UNITER's `init_type_embedding` does, so a pre-trained model starts seeing both images as
    it saw one.
    """
    old = embeddings.token_type_embeddings
    if old.num_embeddings >= num_types:
        return False
    new = nn.Embedding(num_types, old.embedding_dim).to(old.weight.device, old.weight.dtype)
    new.weight.copy_(old.weight[torch.arange(num_types).clamp(max=old.num_embeddings - 1)])
    embeddings.token_type_embeddings = new
    return True


def nlvr2_variant_of(sd: dict[str, torch.Tensor], hidden_size: int) -> str | None:
    """The NLVR2 variant whose head a state dict holds (None without `nlvr2_output.weight`)."""
    if "nlvr2_output.weight" not in sd:
        return None
    if any(k.startswith("attn_pool.") for k in sd):
        return "paired-attn"
    return "triplet" if sd["nlvr2_output.weight"].shape[1] == hidden_size else "paired"
