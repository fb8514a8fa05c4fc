"""UNITER: the single-stream encoder plus the heads a job needs (UniterForPretraining's layout).

    model = Uniter(cfg, heads=("mlm", "mrfr", "mrc", "itm"))
    out = model.encode(batch.inputs)        # EncoderInput -> EncoderOutput (encoder.py)
    logits = model.head("mlm")(out.sequence[:, :Lt][txt_labels != -1])   # (n_masked, V)

`encode` (= calling the model) runs only the encoder; heads are submodules, named by task in
`HEAD_MODULES`, that objectives apply to its outputs, so the model never masks inputs or
computes losses. Parameter names equal UNITER's released ones
(`uniter.*`, `cls.predictions.*`, `feat_regress.*`, `region_classifier.*`, `itm_output.*`,
`vqa_output.*`), so a released state dict loads by a plain key copy. Tied parameters (listed in
`TIED_WEIGHTS`) appear under both names in `state_dict()` as in UNITER.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import nn

from vlkit.encoder_input import EncoderInput
from vlkit.models.config import ModelConfig
from vlkit.models.encoder import EncoderOutput, UniterEncoder, encode_compact
from vlkit.models.heads import (
    MlmHead,
    RegionClassifier,
    RegionFeatureRegression,
    named_head,
    vqa_head,
)
from vlkit.models.init_weights import init_bert_weights
from vlkit.models.nlvr2 import nlvr2_modules
from vlkit.models.vcr import vcr_head

HEADS = ("mlm", "mrfr", "mrc", "itm", "vqa", "rank", "re", "nlvr2", "vcr")
PRETRAIN_HEADS = ("mlm", "mrfr", "mrc", "itm")
# alias name -> the parameter it shares storage with
TIED_WEIGHTS = {
    "cls.predictions.decoder.weight": "uniter.embeddings.word_embeddings.weight",
    "feat_regress.weight": "uniter.img_embeddings.img_linear.weight",
}
# head name -> the submodule that holds it (`model.head(name)`)
HEAD_MODULES = {"mlm": "cls", "mrfr": "feat_regress", "mrc": "region_classifier",
                "itm": "itm_output", "vqa": "vqa_output", "rank": "rank_output",
                "re": "re_output", "nlvr2": "nlvr2_output", "vcr": "vcr_output"}
HEAD_PREFIXES = {"mlm": "cls.", "mrfr": "feat_regress.", "mrc": "region_classifier.",
                 "itm": "itm_output.", "vqa": "vqa_output.", "rank": "rank_output.",
                 "re": "re_output.",
                 "nlvr2": "nlvr2_output.",
                 "vcr": "vcr_output."}


def heads_in(sd: dict[str, torch.Tensor]) -> tuple[list[str], int | None]:
    """Heads whose parameters a UNITER state dict holds, and its answer count (VQA)."""
    answers = sd.get("vqa_output.3.weight")
    return head_names(sd), None if answers is None else int(answers.shape[0])


def head_names(keys: Iterable[str]) -> list[str]:
    """Names of the heads whose parameters appear among `keys` (tied aliases ignored)."""
    keys = list(keys)
    return [h for h, prefix in HEAD_PREFIXES.items()
            if any(k.startswith(prefix) and k not in TIED_WEIGHTS for k in keys)]


class Uniter(nn.Module):
    """`uniter` encoder + optional heads `cls`, `feat_regress`, `region_classifier`,
    `itm_output`, `vqa_output`, `rank_output`, `re_output` (present only when named in
    `heads`)."""

    def __init__(self, cfg: ModelConfig, heads: Sequence[str] = PRETRAIN_HEADS,
                 num_answers: int | None = None):
        super().__init__()
        unknown = [h for h in heads if h not in HEADS]
        if unknown:
            raise ValueError(f"unknown heads {unknown}; choose from {list(HEADS)}")
        self.cfg = cfg
        self.heads = tuple(heads)
        self.uniter = UniterEncoder(cfg)
        eps, h = cfg.layer_norm_eps, cfg.hidden_size
        if "mlm" in heads:
            self.cls = MlmHead(self.uniter.embeddings.word_embeddings.weight, cfg.hidden_act, eps)
        if "mrfr" in heads:
            self.feat_regress = RegionFeatureRegression(
                self.uniter.img_embeddings.img_linear.weight, eps)
        if "mrc" in heads:
            self.region_classifier = RegionClassifier(h, cfg.img_label_dim, eps)
        if "itm" in heads:
            self.itm_output = nn.Linear(h, 2)
        if "vqa" in heads:
            if not num_answers:
                raise ValueError("the vqa head needs num_answers (size of the answer vocabulary)")
            self.vqa_output = vqa_head(h, num_answers, eps)
        if "rank" in heads:  # retrieval score of a pair from the pooled output (B, H) -> (B, 1)
            self.rank_output = nn.Linear(h, 1)
        if "re" in heads:  # referring-expression score of each region (B, Nr, H) -> (B, Nr, 1)
            self.re_output = nn.Linear(h, 1)
        if "nlvr2" in heads:  # nlvr2_output (+ attn1, attn2, fc, attn_pool): models/nlvr2.py
            for name, module in nlvr2_modules(cfg).items():
                setattr(self, name, module)
        if "vcr" in heads:  # right/wrong of one (question, choice) row (B, H) -> (B, 2)
            self.vcr_output = vcr_head(h, eps)
        self.apply(self._init_weights)

    def _init_weights(self, module: nn.Module) -> None:
        """UNITER's init: normal(0, initializer_range) weights, zero biases, unit LayerNorms."""
        init_bert_weights(module, self.cfg.initializer_range)

    def forward(self, inp: EncoderInput, output_all_layers: bool = False,
                output_attentions: bool = False, needed: torch.Tensor | None = None
                ) -> EncoderOutput:
        """The encoder over UNITER's compact [text | regions] sequence (vlkit.models.encoder)."""
        return encode_compact(self.uniter, inp, output_all_layers, output_attentions, needed)

    def encode(self, inp: EncoderInput, **options: bool | torch.Tensor) -> EncoderOutput:
        """`model(inp)`: the vlkit model interface (zoo.VisionLanguageModel)."""
        return self(inp, **options)

    def head(self, name: str) -> nn.Module:
        """The head named `name` (a key of HEAD_MODULES the model was built with)."""
        return named_head(self, HEAD_MODULES, name)
