"""Unified VLP: one BERT-style transformer for captioning and understanding (Zhou et al. 2020).

    model = Vlp(cfg)                                      # heads: "mlm" (always), "vqa"
    out = model.encode(batch.inputs)   # EncoderInput with a (B, L, L) seq2seq or
                                       # bidirectional attn_masks -> EncoderOutput
    logits = model.head("mlm")(out.sequence[:, :Lt][txt_labels != -1])   # (n_masked, V)

The encoder is vlkit's single-stream encoder (UNITER's compact [text | regions] layout) with
VLP's region slot embedder: vis_embed(feature) + vis_pe_embed([box6, class probabilities]) +
token type, LayerNorm. The box/class inputs arrive already normalised and the attention masks
already built (vlkit.data.vlp): the model applies whatever mask it is given.

Incremental decoding: `start` runs the [CLS] + regions prefix and returns every layer's keys
and values; `step` runs a few new caption positions against that cache and returns the cache
extended by the positions that are final (the previous token), never recomputing the prefix.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from vlkit.encoder_input import EncoderInput
from vlkit.models.config import ModelConfig
from vlkit.models.encoder import EncoderOutput, UniterEncoder, encode_compact
from vlkit.models.heads import MlmHead, named_head
from vlkit.models.init_weights import init_bert_weights
from vlkit.modules import Dropout, KeyValue, attention_bias

VLP_HEADS = ("mlm", "vqa")
HEAD_MODULES = {"mlm": "cls", "vqa": "ans_classifier"}
BOX_DIM = 6  # x1, y1, x2, y2, relative area, detector confidence


class VlpRegionEmbeddings(nn.Module):
    """Region slot: vis_embed(feat) + vis_pe_embed(box6 ++ class probs) + type, LayerNorm.

    vis_embed: Linear(D, D), ReLU, Linear(D, H), ReLU, Dropout (VLP's fc7-initialised MLP).
    vis_pe_embed: Linear(6 + C, H), ReLU, Dropout.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        d, h = cfg.img_dim, cfg.hidden_size
        self.vis_embed = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, h), nn.ReLU(),
                                       Dropout(cfg.hidden_dropout))
        self.vis_pe_embed = nn.Sequential(nn.Linear(BOX_DIM + cfg.img_label_dim, h), nn.ReLU(),
                                          Dropout(cfg.hidden_dropout))
        self.LayerNorm = nn.LayerNorm(h, eps=cfg.layer_norm_eps)
        self.dropout = Dropout(cfg.hidden_dropout)

    def forward(self, img_feat: torch.Tensor, img_pos_feat: torch.Tensor,
                type_embeddings: torch.Tensor, img_masks: torch.Tensor | None = None
                ) -> torch.Tensor:
        """img_feat (B, Nr, D), img_pos_feat (B, Nr, 6 + C), type_embeddings (B, Nr, H)
        -> (B, Nr, H)."""
        if img_masks is not None:
            raise ValueError("VLP does not mask regions (no img_masks)")
        emb = self.vis_embed(img_feat) + self.vis_pe_embed(img_pos_feat) + type_embeddings
        return self.dropout(self.LayerNorm(emb))


def vlp_vqa_head(hidden_size: int, num_answers: int) -> nn.Sequential:
    """VLP's `ans_classifier`: Linear(H, 2H), ReLU, Linear(2H, A). (B, H) -> (B, A)."""
    return nn.Sequential(nn.Linear(hidden_size, 2 * hidden_size), nn.ReLU(),
                         nn.Linear(2 * hidden_size, num_answers))


def heads_in(sd: dict[str, torch.Tensor]) -> tuple[list[str], int | None]:
    """Heads a VLP state dict holds ("mlm" always), and its answer count (VQA)."""
    answers = sd.get("ans_classifier.2.weight")
    if answers is None:
        return ["mlm"], None
    return ["mlm", "vqa"], int(answers.shape[0])


class Vlp(nn.Module):
    """`bert` encoder with VLP region slots, `cls` masked-token head, optional
    `ans_classifier` (VQA)."""

    def __init__(self, cfg: ModelConfig, heads: Sequence[str] = ("mlm",),
                 num_answers: int | None = None):
        super().__init__()
        unknown = [h for h in heads if h not in VLP_HEADS]
        if unknown:
            raise ValueError(f"unknown VLP heads {unknown}; choose from {list(VLP_HEADS)}")
        self.cfg = cfg
        self.heads = tuple(dict.fromkeys(("mlm", *heads)))
        self.bert = UniterEncoder(cfg, img_embeddings=VlpRegionEmbeddings(cfg))
        self.cls = MlmHead(self.bert.embeddings.word_embeddings.weight, cfg.hidden_act,
                           cfg.layer_norm_eps)
        if "vqa" in heads:
            if not num_answers:
                raise ValueError("the vqa head needs num_answers (size of the answer vocabulary)")
            self.ans_classifier = vlp_vqa_head(cfg.hidden_size, num_answers)
        self.apply(lambda m: init_bert_weights(m, cfg.initializer_range))

    def forward(self, inp: EncoderInput, output_all_layers: bool = False,
                output_attentions: bool = False, needed: torch.Tensor | None = None
                ) -> EncoderOutput:
        """The encoder under the mask `inp.attn_masks` carries (vlkit.models.encoder)."""
        return encode_compact(self.bert, inp, output_all_layers, output_attentions, needed)

    def encode(self, inp: EncoderInput, **options: bool | torch.Tensor) -> EncoderOutput:
        """`model(inp)`: the vlkit model interface (zoo.VisionLanguageModel)."""
        return self(inp, **options)

    def head(self, name: str) -> nn.Module:
        """The head named `name` ("mlm" or "vqa")."""
        return named_head(self, HEAD_MODULES, name)

    def start(self, prefix: EncoderInput) -> tuple[torch.Tensor, list[KeyValue]]:
        """Prefix pass ([CLS] + regions, padding mask (B, Lp)): output (B, Lp, H) and every
        layer's keys/values (B, nh, Lp, hd)."""
        hidden = self.bert.embed(prefix.input_ids, prefix.position_ids, prefix.img_feat,
                                 prefix.img_pos_feat, prefix.gather_index, None,
                                 prefix.txt_type_ids, prefix.img_type_ids)  # (B, Lp, H)
        bias = attention_bias(prefix.attn_masks, hidden.dtype)
        return self.bert.encoder.forward_cached(hidden, bias, None, keep=hidden.shape[1])

    def step(self, *, input_ids: torch.Tensor, position_ids: torch.Tensor,
             txt_type_ids: torch.Tensor, attn_masks: torch.Tensor, past: list[KeyValue],
             keep: int) -> tuple[torch.Tensor, list[KeyValue]]:
        """New caption positions input_ids (B, n) at position_ids (B, n) against the cache;
        attn_masks (B, n, Lpast + n). Returns (B, n, H) and the cache grown by `keep`."""
        hidden = self.bert.embed_txt(input_ids, position_ids, txt_type_ids)  # (B, n, H)
        bias = attention_bias(attn_masks, hidden.dtype)
        return self.bert.encoder.forward_cached(hidden, bias, past, keep)
