"""VL-BERT: one BERT over [CLS] text [SEP] [IMG]... [END], with a visual feature in every token.

    model = VlBert(cfg, heads=("mlm", "mvrc"))
    out = model.encode(batch.inputs)          # EncoderInput -> VlBertOutput
    logits = model.head("mlm")(out.sequence[:, :Lt][masked])      # (n_masked, V)

Parameter names are VL-BERT's own (jackroos/VL-BERT `ResNetVLBERT*` modules; the list with
shapes is in docs/vlbert.md), so a released state dict loads by a plain key copy. Like every
vlkit model, `encode` takes the shared `EncoderInput` (of which VL-BERT reads the lengths, not
UNITER's compact mask and gather index) and runs only the encoder; heads are submodules,
named by task in `HEAD_MODULES`, that objectives apply:
`vlbert.mlm_head` (MLM with visual clues), `vlbert.mvrc_head` (masked RoI classification),
`final_mlp` (VQA answer classifier over the [MASK] answer slot, the per-region RefCOCO+
scorer, or VCR's choice scorer over the pooled [CLS] state). Differences from UNITER: the
image enters every token (embeddings in vlbert_embeddings.py), objects share one position,
only the VCR model has a pooler (`vlbert.pooler`, VL-BERT's with_pooler) and token types have
three rows (0 text/question, 1 answer, 2 objects/[END]).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from vlkit.encoder_input import EncoderInput
from vlkit.models.config import ModelConfig
from vlkit.models.encoder import EncoderOutput, transformer_stack
from vlkit.models.heads import MlmHead, PredictionTransform, named_head
from vlkit.models.init_weights import init_bert_weights
from vlkit.models.vlbert_embeddings import ObjectEncoder, VisualLinguisticEmbeddings, whole_image
from vlkit.modules import Dropout, TokenPacking, attention_bias
from vlkit.modules.transformer import Intermediate, Pooler

HEADS = ("mlm", "mvrc", "vqa", "re", "vcr")
FINAL_MLP_HEADS = ("vqa", "re", "vcr")  # each is `final_mlp`: at most one per model
PRETRAIN_HEADS = ("mlm", "mvrc")
HEAD_MODULES = {"mlm": "vlbert.mlm_head", "mvrc": "vlbert.mvrc_head", "vqa": "final_mlp",
                "re": "final_mlp", "vcr": "final_mlp"}
TIED_WEIGHTS = {"vlbert.mlm_head.predictions.decoder.weight": "vlbert.word_embeddings.weight"}
TEXT_TYPE, ANSWER_TYPE, OBJECT_TYPE = 0, 1, 2


@dataclass
class VlBertOutput(EncoderOutput):
    """EncoderOutput over VL-BERT's layout (sequence (B, L, H): text at 0..tl-1, then the
    whole-image [IMG], the regions and [END]); `pooled` (B, H) is the [CLS] state, or
    tanh(W h[CLS] + b) when the model has `vlbert.pooler` (VCR). regions: (B, Nr, H) the
    state of each region (whole image excluded; padding rows are garbage), None for
    text-only input."""

    regions: torch.Tensor | None = None


class MvrcHead(nn.Module):
    """Masked RoI classification: dense + activation, then class logits. (N, H) -> (N, C)."""

    def __init__(self, hidden_size: int, num_classes: int, act: str):
        super().__init__()
        self.transform = Intermediate(hidden_size, hidden_size, act)
        self.region_cls_pred = nn.Linear(hidden_size, num_classes)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.region_cls_pred(self.transform(hidden))


def vqa_mlp(cfg: ModelConfig, num_answers: int) -> nn.Sequential:
    """VL-BERT's "mlm" classifier: BERT's MLM transform, dropout, Linear. (B, H) -> (B, A)."""
    h = cfg.hidden_size
    return nn.Sequential(PredictionTransform(h, cfg.hidden_act, cfg.layer_norm_eps),
                         Dropout(cfg.hidden_dropout), nn.Linear(h, num_answers))


def vcr_mlp(cfg: ModelConfig) -> nn.Sequential:
    """VL-BERT's VCR classifier ("1fc"): dropout, Linear -> one score per (question, choice)
    row. (B, H) -> (B, 1)."""
    return nn.Sequential(Dropout(cfg.hidden_dropout), nn.Linear(cfg.hidden_size, 1))


def re_mlp(cfg: ModelConfig) -> nn.Sequential:
    """VL-BERT's RefCOCO+ scorer: MVRC-style transform, dropout 0, Linear. (.., H) -> (.., 1)."""
    h = cfg.hidden_size
    return nn.Sequential(Intermediate(h, h, cfg.hidden_act), Dropout(0.0), nn.Linear(h, 1))


class VisualLinguisticBert(VisualLinguisticEmbeddings):
    """`vlbert.*`: the embedding tables, the BERT encoder and the pre-training heads."""

    def __init__(self, cfg: ModelConfig, heads: Sequence[str]):
        super().__init__(cfg)
        self.encoder = transformer_stack(cfg)
        if "mlm" in heads:
            self.mlm_head = MlmHead(self.word_embeddings.weight, cfg.hidden_act,
                                    cfg.layer_norm_eps)
        if "mvrc" in heads:
            self.mvrc_head = MvrcHead(cfg.hidden_size, cfg.img_label_dim, cfg.hidden_act)
        if "vcr" in heads:
            self.pooler = Pooler(cfg.hidden_size)


class VlBert(nn.Module):
    """VL-BERT with the named heads: "mlm" and "mvrc" (pre-training; they bring the learned
    text-only visual vector and the masked-region vectors), "vqa", "re" or "vcr"
    (`final_mlp`; "vcr" adds `vlbert.pooler`)."""

    def __init__(self, cfg: ModelConfig, heads: Sequence[str] = PRETRAIN_HEADS,
                 num_answers: int | None = None):
        super().__init__()
        unknown = [h for h in heads if h not in HEADS]
        if unknown:
            raise ValueError(f"unknown heads {unknown}; choose from {list(HEADS)}")
        if sum(h in FINAL_MLP_HEADS for h in heads) > 1:
            raise ValueError(f"heads {[h for h in heads if h in FINAL_MLP_HEADS]} all use "
                             "final_mlp; pick one")
        if cfg.type_vocab_size < 3:
            raise ValueError(f"VL-BERT needs type_vocab_size >= 3, got {cfg.type_vocab_size}")
        self.cfg, self.heads, h = cfg, tuple(heads), cfg.hidden_size
        self.image_feature_extractor = ObjectEncoder(cfg)
        self.object_linguistic_embeddings = nn.Embedding(1, h)  # the [IMG] token
        if "mvrc" in heads:
            self.object_mask_visual_embedding = nn.Embedding(1, cfg.img_dim)
            self.object_mask_word_embedding = nn.Embedding(1, h)
        if "mlm" in heads:
            self.aux_text_visual_embedding = nn.Embedding(1, h)
        self.vlbert = VisualLinguisticBert(cfg, heads)
        if "vqa" in heads:
            if not num_answers:
                raise ValueError("the vqa head needs num_answers (size of the answer vocabulary)")
            self.final_mlp = vqa_mlp(cfg, num_answers)
        if "re" in heads:
            self.final_mlp = re_mlp(cfg)
        if "vcr" in heads:
            self.final_mlp = vcr_mlp(cfg)
        self._init_weights()

    def _init_weights(self) -> None:
        """VL-BERT's init: normal(0, initializer_range), zero biases, unit LayerNorms; then the
        visual LayerNorms at zero gain, the masked-region feature at zero and Xavier-uniform
        task classifiers."""
        for module in self.modules():
            init_bert_weights(module, self.cfg.initializer_range)
        self.vlbert.zero_visual_gain()
        if hasattr(self, "object_mask_visual_embedding"):
            self.object_mask_visual_embedding.weight.data.zero_()
        for module in getattr(self, "final_mlp", nn.Sequential()).modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)

    def _objects(self, img_feat: torch.Tensor, img_pos_feat: torch.Tensor,
                 num_bbs: torch.Tensor, img_masks: torch.Tensor | None
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """Object representations (B, 1 + Nr, H) (whole image first) and their linguistic
        vectors (B, 1 + Nr, H) ([IMG], or the masked-region vector where masked)."""
        b, nr, _ = img_feat.shape
        real = torch.arange(nr, device=img_feat.device).unsqueeze(0) < num_bbs.unsqueeze(1)
        masked = torch.zeros_like(real) if img_masks is None else img_masks & real  # (B, Nr)
        if img_masks is not None:
            mask_feat = self.object_mask_visual_embedding.weight.to(img_feat.dtype)  # (1, D)
            img_feat = torch.where(masked.unsqueeze(-1), mask_feat, img_feat)
        whole_feat, whole_box = whole_image(img_feat, real & ~masked)
        feats = torch.cat([whole_feat, img_feat], dim=1)  # (B, 1 + Nr, D)
        boxes = torch.cat([whole_box.to(img_pos_feat.dtype), img_pos_feat], dim=1)
        reps = self.image_feature_extractor(feats, boxes)  # (B, 1 + Nr, H)
        tokens = self.object_linguistic_embeddings.weight.expand(b, nr + 1, -1)
        if img_masks is not None:
            is_masked = torch.cat([masked.new_zeros(b, 1), masked], dim=1).unsqueeze(-1)
            tokens = torch.where(is_masked, self.object_mask_word_embedding.weight, tokens)
        return reps, tokens

    def forward(self, inp: EncoderInput, output_all_layers: bool = False,
                output_attentions: bool = False) -> VlBertOutput:
        """VL-BERT over `inp` (vlkit.encoder_input): input_ids (B, Lt) [CLS] .. [SEP]
        right-padded, txt_lens (B,); img_feat (B, Nr, D), img_pos_feat (B, Nr, 7) normalised
        boxes, num_bbs (B,) -- or img_feat None for text only (text-only corpus); img_masks
        (B, Nr) bool masked regions (MVRC); txt_type_ids (B, Lt) 0 text / 1 answer;
        txt_region_ids (B, Lt) region whose visual feature each text token gets (-1 or None:
        the whole image, as VL-BERT tags untagged words). `output_attentions` (slower:
        explicit softmax) adds every layer's attention probabilities (B, heads, L, L) over
        VL-BERT's layout."""
        input_ids, txt_lens, img_feat = inp.input_ids, inp.txt_lens, inp.img_feat
        b, lt = input_ids.shape
        h = self.cfg.hidden_size
        if img_feat is None:
            aux = getattr(self, "aux_text_visual_embedding", None)
            txt_visual = (aux.weight.expand(b, lt, h) if aux is not None
                          else input_ids.new_zeros(b, lt, h, dtype=torch.float32))
            reps = tokens = None
            num_objs = torch.zeros_like(txt_lens)
        else:
            reps, tokens = self._objects(img_feat, inp.img_pos_feat, inp.num_bbs, inp.img_masks)
            ids = (inp.txt_region_ids.clamp_min(-1) + 1 if inp.txt_region_ids is not None
                   else torch.zeros_like(input_ids))  # (B, Lt) 0 = whole image, k = region k-1
            txt_visual = reps.gather(1, ids.unsqueeze(-1).expand(-1, -1, h))  # (B, Lt, H)
            num_objs = inp.num_bbs + 1
        hidden, mask = self.vlbert.embed(input_ids, txt_lens, txt_visual, tokens, reps,
                                         num_objs, inp.txt_type_ids)  # (B, L, H), (B, L)
        bias = attention_bias(mask, hidden.dtype)
        attentions = None
        packing = TokenPacking.of(mask) if self.cfg.pack_tokens else None
        if output_attentions:
            layers, attentions = self.vlbert.encoder.forward_with_attentions(hidden, bias)
        elif packing is None:
            layers = self.vlbert.encoder(hidden, bias)
        else:  # token-wise layers over the real positions only; zeros at padding
            packed = self.vlbert.encoder(packing.pack(hidden), bias, packing)  # layers x (N, H)
            layers = [packing.unpack(x) for x in (packed if output_all_layers else packed[-1:])]
        sequence = layers[-1]
        regions = None
        if img_feat is not None:
            pos = txt_lens.unsqueeze(1) + 1 + torch.arange(img_feat.shape[1],
                                                           device=sequence.device)
            pos = pos.clamp(max=sequence.shape[1] - 1).unsqueeze(-1).expand(-1, -1, h)
            regions = sequence.gather(1, pos)  # (B, Nr, H)
        pooler = getattr(self.vlbert, "pooler", None)
        pooled = pooler(sequence) if pooler is not None else sequence[:, 0]
        return VlBertOutput(sequence, pooled, layers if output_all_layers else None, regions,
                            attentions=attentions)

    def encode(self, inp: EncoderInput, **options: bool) -> VlBertOutput:
        """`model(inp)`: the vlkit model interface (zoo.VisionLanguageModel)."""
        return self(inp, **options)

    def head(self, name: str) -> nn.Module:
        """The head named `name` (a key of HEAD_MODULES the model was built with)."""
        return named_head(self, HEAD_MODULES, name)


def heads_in(sd: dict[str, torch.Tensor]) -> tuple[list[str], int | None]:
    """Heads whose parameters a VL-BERT state dict holds, and its answer count (VQA)."""
    heads = [h for h, key in (("mlm", "vlbert.mlm_head.predictions.bias"),
                              ("mvrc", "vlbert.mvrc_head.region_cls_pred.weight")) if key in sd]
    if "final_mlp.0.LayerNorm.weight" in sd:
        return [*heads, "vqa"], int(sd["final_mlp.2.weight"].shape[0])
    if "final_mlp.1.weight" in sd:
        heads.append("vcr")
    if "final_mlp.2.weight" in sd:
        heads.append("re")
    return heads, None
