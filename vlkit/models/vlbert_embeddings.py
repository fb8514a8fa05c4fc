"""VL-BERT's input embeddings: every token = linguistic + visual + segment + position.

Sequence of one example (VL-BERT's layout, `tl` text tokens, `nb` regions):

    [CLS] w1 .. [SEP]   [IMG]whole [IMG]r1 .. [IMG]r_nb   [END]   pad ...
    positions 0..tl-1   tl (every [IMG] shares it)          tl+1
    segment   0 (1 = answer of a QA pair)    2  ...  2       2

- Visual part: each object (the whole image first, then the regions) is
  `obj_downsample(cat(geometry(box) (8G), feature (D)))` -> (H,) with `obj_downsample` =
  Dropout, Linear(8G + D, H), ReLU (VL-BERT's `image_feature_extractor.obj_downsample`).
  Text tokens add `visual_ln_text(whole-image object)` (or, with `txt_region_ids`, the named
  object's, as VL-BERT does for VCR's tagged words); [IMG] tokens add `visual_ln_object(own)`.
  Both LayerNorms start with ZERO gain, so at initialisation no visual signal enters and the
  text side is exactly BERT's embedding.
- Linguistic part: word embeddings for text; a learned [IMG] vector for objects (a learned
  [MASK]-region vector for masked regions); a learned [END] vector closes the sequence.
- The whole-image object: precomputed detectors give no whole-image box, so its feature is the
  mean of the example's unmasked region features and its box is the full image
  (VL-BERT adds the image as a box, ADD_IMAGE_AS_A_BOX).
"""

from __future__ import annotations

import torch
from torch import nn

from vlkit.models.config import ModelConfig
from vlkit.modules import Dropout


def box_geometry_embedding(boxes: torch.Tensor, dim: int) -> torch.Tensor:
    """VL-BERT's sin/cos box embedding. boxes (..., >=4) [x1, y1, x2, y2, ...] normalised to
    [0, 1] -> (..., 8 * dim).

    (x-centre, y-centre, w, h) in percent of the image are each embedded as
    [sin(p / 1000^(k/dim)) for k < dim] ++ [cos(...)], the four blocks concatenated.
    """
    x1, y1, x2, y2 = boxes[..., 0], boxes[..., 1], boxes[..., 2], boxes[..., 3]
    pos = torch.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], dim=-1) * 100.0
    freq = 1000.0 ** (torch.arange(dim, dtype=pos.dtype, device=pos.device) / dim)  # (dim,)
    angle = pos.unsqueeze(-1) / freq  # (..., 4, dim)
    emb = torch.cat([angle.sin(), angle.cos()], dim=-1)  # (..., 4, 2 * dim)
    return emb.flatten(-2)


def whole_image(img_feat: torch.Tensor, real: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The whole-image object: mean feature of the `real` regions and the full-image box.

    img_feat (B, Nr, D), real (B, Nr) bool -> feat (B, 1, D), box (B, 1, 7).
    """
    weight = real.unsqueeze(-1).to(img_feat.dtype)  # (B, Nr, 1)
    feat = (img_feat * weight).sum(1, keepdim=True) / weight.sum(1, keepdim=True).clamp(min=1)
    box = img_feat.new_tensor([0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0]).expand(len(img_feat), 1, 7)
    return feat, box


class ObjectEncoder(nn.Module):
    """VL-BERT's `image_feature_extractor` without the CNN: precomputed region features and
    their boxes -> object representations (..., H)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.geo_dim = cfg.vlbert_geo_dim
        self.obj_downsample = nn.Sequential(
            Dropout(cfg.hidden_dropout),
            nn.Linear(8 * cfg.vlbert_geo_dim + cfg.img_dim, cfg.hidden_size),
            nn.ReLU(),
        )

    def forward(self, feat: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        """feat (B, N, D), boxes (B, N, >=4) -> (B, N, H)."""
        geo = box_geometry_embedding(boxes.to(feat.dtype), self.geo_dim)  # (B, N, 8G)
        return self.obj_downsample(torch.cat([geo, feat], dim=-1))


class VisualLinguisticEmbeddings(nn.Module):
    """Embedding tables of VL-BERT's `vlbert.*` (word, [END], position, segment, LayerNorms).

    `embed` assembles the joint sequence from text ids, object representations and the
    [IMG] vectors (see the module docstring for the layout). The tables sit directly under
    `vlbert.` as in VL-BERT, so the model's `vlbert` module extends this class.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        h, eps = cfg.hidden_size, cfg.layer_norm_eps
        self.word_embeddings = nn.Embedding(cfg.vocab_size, h)
        self.end_embedding = nn.Embedding(1, h)
        self.position_embeddings = nn.Embedding(cfg.max_position_embeddings, h)
        self.token_type_embeddings = nn.Embedding(cfg.type_vocab_size, h)
        self.embedding_LayerNorm = nn.LayerNorm(h, eps=eps)
        self.embedding_dropout = Dropout(cfg.hidden_dropout)
        self.visual_ln_text = nn.LayerNorm(h, eps=eps)
        self.visual_ln_object = nn.LayerNorm(h, eps=eps)

    def zero_visual_gain(self) -> None:
        """VL-BERT's visual_scale_{text,object}_init = 0: visual inputs start switched off."""
        self.visual_ln_text.weight.data.zero_()
        self.visual_ln_object.weight.data.zero_()

    def embed(self, input_ids: torch.Tensor, txt_lens: torch.Tensor, txt_visual: torch.Tensor,
                obj_tokens: torch.Tensor | None, obj_visual: torch.Tensor | None,
                num_objs: torch.Tensor, txt_type_ids: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Joint sequence (B, L, H) after LayerNorm/dropout and its 0/1 mask (B, L).

        input_ids (B, Lt) right-padded; txt_lens (B,); txt_visual (B, Lt, H) visual input of
        each text token (before visual_ln_text); obj_tokens (B, No, H) linguistic vector of
        each object ([IMG] or masked-region); obj_visual (B, No, H) object representations
        (before visual_ln_object); num_objs (B,) real objects per row (0 for text-only);
        txt_type_ids (B, Lt) or None (all 0). L = max(txt_lens + num_objs) + 1.
        """
        b, lt = input_ids.shape
        txt = self.word_embeddings(input_ids) + self.visual_ln_text(txt_visual)  # (B, Lt, H)
        parts = [txt]
        if obj_tokens is not None:
            parts.append(obj_tokens + self.visual_ln_object(obj_visual))  # (B, No, H)
        parts.append(self.end_embedding.weight.expand(b, 1, -1))  # (B, 1, H)
        slots = torch.cat(parts, dim=1)  # (B, Lt + No + 1, H)
        end_slot = slots.shape[1] - 1

        lengths = txt_lens + num_objs + 1
        width = int(lengths.max())
        j = torch.arange(width, device=input_ids.device).unsqueeze(0)  # (1, L)
        tl, obj_end = txt_lens.unsqueeze(1), (txt_lens + num_objs).unsqueeze(1)
        index = torch.where(j < tl, j, lt + j - tl)
        index = torch.where(j == obj_end, end_slot, index).clamp(max=end_slot)  # pads: any slot
        seq = slots.gather(1, index.unsqueeze(-1).expand(-1, -1, slots.shape[-1]))

        pos = torch.where(j < tl, j, torch.where(j < obj_end, tl, tl + 1))  # (B, L)
        if txt_type_ids is None:
            txt_type_ids = torch.zeros_like(input_ids)
        txt_types = txt_type_ids.gather(1, j.clamp(max=lt - 1).expand(b, -1))
        types = torch.where(j < tl, txt_types, 2)  # (B, L)
        seq = seq + self.position_embeddings(pos) + self.token_type_embeddings(types)
        mask = (j < lengths.unsqueeze(1)).long()
        return self.embedding_dropout(self.embedding_LayerNorm(seq)), mask
