"""The single-stream encoder (`uniter.*`): embeddings -> compact concat -> transformer -> pooler.

Forward contract (pure nn: keyword tensors in, tensors out; no masking, losses or device moves).
Inputs follow UNITER's collate:
    input_ids     (B, Lt)   token ids incl. [CLS]/[SEP], right-padded with 0
    position_ids  (1|B, Lt) usually arange(Lt)[None]
    img_feat      (B, Nr, D) region features, zero-padded
    img_pos_feat  (B, Nr, 7) [x1, y1, x2, y2, w, h, w*h] normalised boxes
    attn_masks    (B, L)    1 = real, 0 = pad over the *compact* joint sequence, or a full
                            (B, L, L) mask (1 = may attend)
    gather_index  (B, L)    index into cat([txt (B, Lt), img (B, Nr)], 1) giving the compact
                            sequence [txt_i, img_i, pad]; needed only when both modalities given
    img_masks     (B, Nr)   optional bool, True = masked region (MRM): adds mask_embedding
    txt_type_ids  (B, Lt), img_type_ids (B, Nr): optional token types (default 0 / 1)
Text-only: pass img_feat=None (attn_masks (B, Lt)). Image-only: pass input_ids=None
(attn_masks (B, Nr)). The output `EncoderOutput` holds sequence (B, L, H), pooled (B, H) and,
when asked, every layer's output. With `cfg.pack_tokens` (default) and a (B, L) mask, the
layers run over the real positions only (vlkit.modules.packing) and the outputs at padding
positions are zeros.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from vlkit.encoder_input import EncoderInput
from vlkit.models.config import ModelConfig
from vlkit.models.embeddings import ImageEmbeddings, TextEmbeddings
from vlkit.modules import Pooler, TokenPacking, TransformerStack, attention_bias


@dataclass
class EncoderOutput:
    sequence: torch.Tensor  # (B, L, H) last layer
    pooled: torch.Tensor  # (B, H) tanh(W h[:, 0] + b)
    all_layers: list[torch.Tensor] | None = None  # num_layers x (B, L, H), when asked
    # num_layers x (B, heads, L, L), when asked; keyword-only so that subclasses (VlBertOutput)
    # keep appending positional fields
    attentions: list[torch.Tensor] | None = field(default=None, kw_only=True)


def transformer_stack(cfg: ModelConfig) -> TransformerStack:
    """The BERT layer stack every single-stream model of vlkit uses, sized by `cfg`."""
    return TransformerStack(
        cfg.num_layers, checkpointing=cfg.activation_checkpointing,
        hidden_size=cfg.hidden_size, num_heads=cfg.num_heads,
        intermediate_size=cfg.intermediate_size, act=cfg.hidden_act,
        hidden_dropout=cfg.hidden_dropout, attention_dropout=cfg.attention_dropout,
        eps=cfg.layer_norm_eps,
    )


class UniterEncoder(nn.Module):
    """UNITER's `UniterModel`: attributes embeddings, img_embeddings, encoder, pooler."""

    def __init__(self, cfg: ModelConfig, img_embeddings: nn.Module | None = None):
        super().__init__()
        self.cfg = cfg
        self.embeddings = TextEmbeddings(cfg)
        # UNITER's region embedder unless a variant brings its own (VLP: models/vlp.py); it is
        # called as img_embeddings(img_feat, img_pos_feat, type_embeddings, img_masks)
        self.img_embeddings = img_embeddings if img_embeddings is not None else ImageEmbeddings(
            cfg)
        self.encoder = transformer_stack(cfg)
        self.pooler = Pooler(cfg.hidden_size)

    def embed_txt(self, input_ids: torch.Tensor, position_ids: torch.Tensor,
                  txt_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        """(B, Lt) ids -> (B, Lt, H) text embeddings."""
        return self.embeddings(input_ids, position_ids, txt_type_ids)

    def embed_img(self, img_feat: torch.Tensor, img_pos_feat: torch.Tensor,
                  img_masks: torch.Tensor | None = None,
                  img_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        """(B, Nr, D) features + (B, Nr, 7) boxes -> (B, Nr, H) image embeddings (type 1)."""
        if img_type_ids is None:
            img_type_ids = torch.ones(img_feat.shape[:2], dtype=torch.long,
                                      device=img_feat.device)
        type_emb = self.embeddings.token_type_embeddings(img_type_ids)
        return self.img_embeddings(img_feat, img_pos_feat, type_emb, img_masks)

    def embed(self, input_ids: torch.Tensor | None = None,
              position_ids: torch.Tensor | None = None, img_feat: torch.Tensor | None = None,
              img_pos_feat: torch.Tensor | None = None, gather_index: torch.Tensor | None = None,
              img_masks: torch.Tensor | None = None, txt_type_ids: torch.Tensor | None = None,
              img_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        """The encoder's input sequence (B, L, H): text, image, or both compacted."""
        if input_ids is None:
            return self.embed_img(img_feat, img_pos_feat, img_masks, img_type_ids)
        txt = self.embed_txt(input_ids, position_ids, txt_type_ids)  # (B, Lt, H)
        if img_feat is None:
            return txt
        img = self.embed_img(img_feat, img_pos_feat, img_masks, img_type_ids)  # (B, Nr, H)
        if gather_index is None:
            raise ValueError("gather_index is required when both input_ids and img_feat are given")
        index = gather_index.unsqueeze(-1).expand(-1, -1, txt.size(-1))  # (B, L, H)
        return torch.gather(torch.cat([txt, img], dim=1), 1, index)  # (B, L, H)

    def forward(self, *, attn_masks: torch.Tensor, input_ids: torch.Tensor | None = None,
                position_ids: torch.Tensor | None = None, img_feat: torch.Tensor | None = None,
                img_pos_feat: torch.Tensor | None = None,
                gather_index: torch.Tensor | None = None, img_masks: torch.Tensor | None = None,
                txt_type_ids: torch.Tensor | None = None,
                img_type_ids: torch.Tensor | None = None,
                output_all_layers: bool = False,
                output_attentions: bool = False,
                needed: torch.Tensor | None = None) -> EncoderOutput:
        """See the module docstring for shapes. `output_attentions` (opt-in, slower: explicit
        softmax) adds every layer's attention probabilities over the compact sequence.
        `needed` (B, L) bool marks the only positions whose output the caller reads (MLM's
        masked words, MRM's masked regions): the last layer computes its output projection
        and feed-forward there only, and `sequence` is zero elsewhere (and `pooled` with it,
        unless position 0 is needed)."""
        if needed is not None and (output_all_layers or output_attentions):
            raise ValueError("`needed` computes only part of the last layer; it cannot be "
                             "combined with output_all_layers or output_attentions")
        hidden = self.embed(input_ids, position_ids, img_feat, img_pos_feat, gather_index,
                            img_masks, txt_type_ids, img_type_ids)  # (B, L, H)
        bias = attention_bias(attn_masks, hidden.dtype)
        attentions = None
        packing = TokenPacking.of(attn_masks) if self.cfg.pack_tokens else None
        if output_attentions:
            layers, attentions = self.encoder.forward_with_attentions(hidden, bias)
            if packing is not None:  # padding zeroed, as the packed path leaves it
                layers = [packing.unpack(packing.pack(x)) for x in layers]
        elif needed is not None:  # the last layer's rows: of the packed input, or flat B * L
            rows, selected = (packing or TokenPacking.real(attn_masks)).subset(needed)
            if packing is None:
                layer_in, rows = hidden, selected.index
            else:
                layer_in = packing.pack(hidden)
            layers = [selected.unpack(self.encoder(layer_in, bias, packing, last_rows=rows)[-1])]
        elif packing is None:
            layers = self.encoder(hidden, bias)
        else:  # token-wise layers over the real positions only; zeros at padding
            packed = self.encoder(packing.pack(hidden), bias, packing)  # num_layers x (N, H)
            layers = [packing.unpack(x) for x in (packed if output_all_layers else packed[-1:])]
        sequence = layers[-1]
        return EncoderOutput(sequence, self.pooler(sequence),
                             layers if output_all_layers else None, attentions=attentions)


def encode_compact(encoder: UniterEncoder, inp: EncoderInput, output_all_layers: bool = False,
                   output_attentions: bool = False, needed: torch.Tensor | None = None
                   ) -> EncoderOutput:
    """Run a UNITER-layout encoder (UNITER, VLP) on a typed `EncoderInput` (`needed`: see
    UniterEncoder.forward)."""
    return encoder(attn_masks=inp.attn_masks, input_ids=inp.input_ids,
                   position_ids=inp.position_ids, img_feat=inp.img_feat,
                   img_pos_feat=inp.img_pos_feat, gather_index=inp.gather_index,
                   img_masks=inp.img_masks, txt_type_ids=inp.txt_type_ids,
                   img_type_ids=inp.img_type_ids, output_all_layers=output_all_layers,
                   output_attentions=output_attentions, needed=needed)


def text_positions(txt_wanted: torch.Tensor, length: int) -> torch.Tensor:
    """(B, Lt) bool over the text slots -> (B, L) over the compact sequence, whose first
    positions of every row are its text (UNITER's and VLP's layout)."""
    wanted = txt_wanted.new_zeros(txt_wanted.shape[0], length)
    wanted[:, :txt_wanted.shape[1]] = txt_wanted
    return wanted


def split_compact(sequence: torch.Tensor, scatter_index: torch.Tensor, txt_len: int,
                  img_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Undo the compact concatenation: (B, L, H) -> txt (B, Lt, H), img (B, Nr, H).

    `scatter_index` (B, L) maps each compact position to its slot in [txt 0..Lt-1 | img Lt..]
    (UNITER's `ot_scatter`; padding positions map past the real slots). Slots that receive no
    position are zero.
    """
    b, _, h = sequence.shape
    width = max(int(scatter_index.max()) + 1, txt_len + img_len)
    index = scatter_index.unsqueeze(-1).expand_as(sequence)
    full = sequence.new_zeros(b, width, h).scatter(1, index, sequence)  # (B, width, H)
    return full[:, :txt_len], full[:, txt_len:txt_len + img_len]
