"""The VLP presets build, run forward/backward with a (B, L, L) mask, and name VLP's keys."""

from __future__ import annotations

import pytest
import torch

from vlkit.encoder_input import EncoderInput
from vlkit.models.config import ModelConfig
from vlkit.models.presets import MODEL_PRESETS
from vlkit.models.zoo import build_model
from vlkit.utils.errors import ConfigError

TINY = dict(hidden_size=32, num_layers=2, num_heads=4, intermediate_size=64, vocab_size=120,
            max_position_embeddings=32, img_dim=24, img_label_dim=9)


def _inputs() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    lt, nr, b = 5, 4, 2
    joint = lt + nr
    mask = torch.ones(b, joint, joint, dtype=torch.long).tril()  # any 3-d mask will do
    return dict(input_ids=torch.randint(5, 120, (b, lt), generator=g),
                position_ids=torch.arange(lt)[None], img_feat=torch.randn(b, nr, 24, generator=g),
                img_pos_feat=torch.randn(b, nr, 6 + 9, generator=g), attn_masks=mask,
                gather_index=torch.arange(joint).repeat(b, 1),
                txt_type_ids=torch.full((b, lt), 5), img_type_ids=torch.full((b, nr), 4))


@pytest.mark.parametrize("name", sorted(n for n, p in MODEL_PRESETS.items() if p["arch"] == "vlp"))
def test_vlp_preset_forward_backward(name):
    cfg = ModelConfig(**{**MODEL_PRESETS[name], **TINY, "name": name})
    assert cfg.type_vocab_size == 6
    model = build_model(cfg, heads=("mlm", "vqa"), num_answers=7)
    out = model(EncoderInput(**_inputs()))
    assert out.sequence.shape == (2, 9, 32)
    loss = model.cls(out.sequence).pow(2).mean() + model.ans_classifier(out.pooled).pow(2).mean()
    loss.backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), pname


def test_vlp_key_names_follow_vlp():
    model = build_model(ModelConfig(**{**MODEL_PRESETS["vlp-tiny"], **TINY}), heads=("mlm",))
    keys = set(model.state_dict())
    for key in ("bert.embeddings.token_type_embeddings.weight",
                "bert.encoder.layer.1.attention.self.query.weight",
                "bert.img_embeddings.vis_embed.0.weight", "bert.img_embeddings.vis_embed.2.weight",
                "bert.img_embeddings.vis_pe_embed.0.weight", "cls.predictions.bias"):
        assert key in keys
    assert model.state_dict()["bert.img_embeddings.vis_pe_embed.0.weight"].shape == (32, 15)
    assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight


def test_vlp_rejects_region_masking_and_unknown_heads():
    cfg = ModelConfig(**{**MODEL_PRESETS["vlp-tiny"], **TINY})
    with pytest.raises(ConfigError, match="unknown VLP heads"):
        build_model(cfg, heads=("itm",))
    model = build_model(cfg, heads=("mlm",))
    with pytest.raises(ValueError, match="does not mask regions"):
        model(EncoderInput(**_inputs(), img_masks=torch.zeros(2, 4, dtype=torch.bool)))
