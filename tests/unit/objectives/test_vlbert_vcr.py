"""VL-BERT's VCR: per-token region features, token types, the pooled head and its losses."""

from __future__ import annotations

import math

import pytest
import torch

from vlkit.encoder_input import EncoderInput
from vlkit.models.config import ModelConfig
from vlkit.models.vlbert import VlBert, heads_in
from vlkit.objectives.vlbert_vcr import (
    VlBertVcrObjective,
    choice_loss,
    vlbert_token_types,
)
from vlkit.utils.errors import ConfigError

TINY = ModelConfig(name="vlbert-tiny", arch="vlbert", hidden_size=32, num_layers=1, num_heads=4,
                   intermediate_size=64, vocab_size=120, max_position_embeddings=32,
                   type_vocab_size=3, img_dim=24, img_label_dim=9, vlbert_geo_dim=4,
                   hidden_dropout=0.0, attention_dropout=0.0)


def _inputs() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return dict(input_ids=torch.tensor([[2, 10, 11, 12, 3, 0], [2, 20, 21, 3, 0, 0]]),
                txt_lens=torch.tensor([5, 4]), img_feat=torch.randn(2, 3, 24, generator=g),
                img_pos_feat=torch.rand(2, 3, 7, generator=g).sort(-1).values,
                num_bbs=torch.tensor([3, 2]))


def _captured(model: VlBert, **inputs) -> tuple[torch.Tensor, torch.Tensor]:
    """(visual input of every text token (B, Lt, H), object representations (B, 1+Nr, H))."""
    seen = {}
    hooks = [model.vlbert.visual_ln_text.register_forward_hook(
                 lambda m, args, out: seen.setdefault("txt", args[0])),
             model.image_feature_extractor.register_forward_hook(
                 lambda m, args, out: seen.setdefault("obj", out))]
    model(EncoderInput(**inputs))
    for hook in hooks:
        hook.remove()
    return seen["txt"], seen["obj"]


def test_tagged_tokens_get_their_region_feature_others_the_whole_image():
    torch.manual_seed(0)
    model = VlBert(TINY, heads=("vcr",)).eval()
    tags = torch.tensor([[-1, -1, 1, 2, -1, -1], [-1, 0, -1, -1, -1, -1]])  # -1: no region
    txt, obj = _captured(model, **_inputs(), txt_region_ids=tags)
    for b in range(2):
        for t in range(6):  # objects: whole image first, then region k at k + 1
            assert torch.equal(txt[b, t], obj[b, int(tags[b, t]) + 1])
    assert not torch.equal(txt[0, 2], txt[0, 1])  # region 1 differs from the whole image
    plain, _ = _captured(model, **_inputs())  # default: every token sees the whole image
    assert torch.equal(plain[0, 2], obj[0, 0]) and torch.equal(plain[1, 1], obj[1, 0])


def test_token_types_mark_the_choice_after_its_sep():
    # Q->A: [CLS] q q [SEP] a a [SEP] pad  -> UNITER types 0 0 0 2 2 2 2 0
    # QA->R: [CLS] q [SEP] a [SEP] r r [SEP] -> 0 0 2 2 3 3 3 3
    types = torch.tensor([[0, 0, 0, 2, 2, 2, 2, 0], [0, 0, 2, 2, 3, 3, 3, 3]])
    assert vlbert_token_types(types).tolist() == [[0, 0, 0, 0, 1, 1, 1, 0],
                                                  [0, 0, 0, 0, 0, 1, 1, 1]]


def test_vcr_head_scores_the_pooled_cls_state_and_is_found_in_weights():
    torch.manual_seed(0)
    model = VlBert(TINY, heads=("vcr",)).eval()
    out = model(EncoderInput(**_inputs()))
    pooler = model.vlbert.pooler.dense
    expected = torch.tanh(out.sequence[:, 0] @ pooler.weight.T + pooler.bias)
    assert torch.allclose(out.pooled, expected, atol=1e-6)
    assert model.final_mlp(out.pooled).shape == (2, 1)
    assert heads_in(model.state_dict()) == (["vcr"], None)
    with pytest.raises(ValueError, match="final_mlp"):
        VlBert(TINY, heads=("vcr", "re"))


def test_losses_by_hand():
    scores = torch.tensor([[2.0, -1.0, 0.5, 0.0]])
    targets = torch.tensor([[0, 0, 1, 0]])
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    bce = -(math.log(1 - sig(2.0)) + math.log(1 - sig(-1.0)) + math.log(sig(0.5))
            + math.log(1 - sig(0.0))) / 4
    assert choice_loss(scores, targets, "sigmoid").item() == pytest.approx(bce, rel=1e-5)
    ce = -0.5 + math.log(math.exp(2.0) + math.exp(-1.0) + math.exp(0.5) + 1.0)
    assert choice_loss(scores, targets, "softmax").item() == pytest.approx(ce, rel=1e-5)
    unknown = torch.tensor([[-1, -1, -1, -1]])
    both = torch.cat([scores, scores]), torch.cat([targets, unknown])
    assert choice_loss(*both, "sigmoid").item() == pytest.approx(bce, rel=1e-5)
    assert choice_loss(*both, "softmax").item() == pytest.approx(ce, rel=1e-5)
    with pytest.raises(ConfigError, match="hinge"):
        VlBertVcrObjective("hinge")
