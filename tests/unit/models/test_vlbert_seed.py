"""VL-BERT fine-tuning starts its classifier transform from the pre-trained head's."""

from __future__ import annotations

import torch

from vlkit.models.config import ModelConfig
from vlkit.models.vlbert import VlBert
from vlkit.models.vlbert_bert_init import seed_final_mlp

CFG = ModelConfig(arch="vlbert", hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32,
                  vocab_size=50, max_position_embeddings=16, type_vocab_size=3, img_dim=8,
                  img_label_dim=5, vlbert_geo_dim=2)


def test_vqa_and_re_transforms_come_from_the_matching_pretrained_head():
    torch.manual_seed(0)
    pre = VlBert(CFG)
    vqa = VlBert(CFG, heads=("vqa",), num_answers=3)
    copied = seed_final_mlp(vqa, pre.state_dict())
    assert sorted(copied) == ["final_mlp.0.LayerNorm.bias", "final_mlp.0.LayerNorm.weight",
                              "final_mlp.0.dense.bias", "final_mlp.0.dense.weight"]
    src = pre.vlbert.mlm_head.predictions.transform
    torch.testing.assert_close(vqa.final_mlp[0].dense.weight, src.dense.weight)
    torch.testing.assert_close(vqa.final_mlp[0].LayerNorm.bias, src.LayerNorm.bias)
    re = VlBert(CFG, heads=("re",))
    assert sorted(seed_final_mlp(re, pre.state_dict())) == ["final_mlp.0.dense.bias",
                                                            "final_mlp.0.dense.weight"]
    torch.testing.assert_close(re.final_mlp[0].dense.weight,
                               pre.vlbert.mvrc_head.transform.dense.weight)


def test_a_finetuned_checkpoint_keeps_its_own_classifier():
    finetuned = VlBert(CFG, heads=("vqa",), num_answers=3).state_dict()
    model = VlBert(CFG, heads=("vqa",), num_answers=3)
    before = model.final_mlp[0].dense.weight.clone()
    assert seed_final_mlp(model, finetuned) == []
    torch.testing.assert_close(model.final_mlp[0].dense.weight, before)
