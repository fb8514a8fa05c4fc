"""Optimizer groups (UNITER's no-decay rule, lr multipliers), AdamW math and the schedule."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from vlkit.models.config import ModelConfig
from vlkit.models.zoo import build_model
from vlkit.train.adamw import AdamW
from vlkit.train.optim import build_optimizer
from vlkit.train.schedule import lr_at, set_lr, warmup_linear
from vlkit.utils.errors import ConfigError

TINY = ModelConfig(hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32,
                   vocab_size=50, max_position_embeddings=16, img_dim=8, img_label_dim=5)


def _groups(opt):
    return {(g["lr_mult"], g["weight_decay"] > 0): set(g["names"]) for g in opt.param_groups}


def test_no_decay_rule_is_uniters_substring_rule():
    model = build_model(TINY, heads=("mlm", "mrfr", "vqa"), num_answers=3)
    opt = build_optimizer(model, lr=1e-4, weight_decay=0.01)
    groups = _groups(opt)
    decayed, exempt = groups[(1.0, True)], groups[(1.0, False)]
    assert "uniter.embeddings.LayerNorm.weight" in exempt
    assert "uniter.encoder.layer.0.attention.self.query.bias" in exempt
    assert "feat_regress.bias" in exempt
    # UNITER's rule only matches 'LayerNorm.weight': these LayerNorms ARE decayed
    assert "uniter.img_embeddings.img_layer_norm.weight" in decayed
    assert "vqa_output.2.weight" in decayed
    assert "uniter.embeddings.word_embeddings.weight" in decayed
    # tied aliases appear once, under their first name
    names = decayed | exempt
    assert "cls.predictions.decoder.weight" not in names and "feat_regress.weight" not in names
    assert len(names) == len(list(model.parameters()))


def test_lr_multipliers_longest_prefix_and_set_lr():
    model = build_model(TINY, heads=("vqa",), num_answers=3)
    opt = build_optimizer(model, lr=1e-3, weight_decay=0.01,
                          lr_mult={"vqa_output.": 10.0, "vqa_output.3.": 5.0})
    groups = _groups(opt)
    assert "vqa_output.0.weight" in groups[(10.0, True)]
    assert "vqa_output.3.weight" in groups[(5.0, True)]
    assert all(g["base_lr"] == 1e-3 for g in opt.param_groups)

    class Cfg:
        lr, warmup_steps, total_steps, schedule = 1e-3, 10, 100, "warmup_linear"

    assert set_lr(opt, 5, Cfg) == pytest.approx(5e-4)
    lrs = {g["lr_mult"]: g["lr"] for g in opt.param_groups}
    assert lrs[10.0] == pytest.approx(5e-3) and lrs[1.0] == pytest.approx(5e-4)
    set_lr(opt, 100, Cfg)  # schedule reaches 0 -> floored at 1e-8, then multiplied
    assert {g["lr_mult"]: g["lr"] for g in opt.param_groups}[10.0] == pytest.approx(1e-7)
    with pytest.raises(ConfigError, match="matches no parameter"):
        build_optimizer(model, lr=1e-3, lr_mult={"nothing.": 2.0})


def test_warmup_linear_values():
    assert [warmup_linear(s, 10, 100) for s in (0, 5, 10, 55, 100, 120)] == \
        [0.0, 0.5, 1.0, 0.5, 0.0, 0.0]
    assert lr_at(0, 1e-4, 10, 100) == 1e-8 and lr_at(10, 1e-4, 10, 100) == 1e-4


def test_adamw_matches_hand_computed_two_steps():
    p = nn.Parameter(torch.tensor([1.0, -2.0]))
    g = torch.tensor([0.5, 1e-7])
    opt = AdamW([p], lr=0.1, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.01)
    w, m, v = [1.0, -2.0], [0.0, 0.0], [0.0, 0.0]
    for t in (1, 2):
        p.grad = g.clone()
        opt.step()
        for i in range(2):
            m[i] = 0.9 * m[i] + 0.1 * g[i].item()
            v[i] = 0.98 * v[i] + 0.02 * g[i].item() ** 2
            step = 0.1 * math.sqrt(1 - 0.98 ** t) / (1 - 0.9 ** t)
            w[i] -= step * m[i] / (math.sqrt(v[i]) + 1e-6)
            w[i] -= 0.1 * 0.01 * w[i]  # decay after the update, on the new weight
    torch.testing.assert_close(p.detach(), torch.tensor(w), rtol=1e-6, atol=1e-7)


def _three_steps(**kwargs) -> list[torch.Tensor]:
    shapes = [(3, 4), (4,), (2, 2, 2)]
    params = [nn.Parameter(torch.ones(s)) for s in shapes]
    opt = AdamW([{"params": params[:2], "weight_decay": 0.01},
                 {"params": params[2:], "weight_decay": 0.0}], lr=0.05, **kwargs)
    gen = torch.Generator().manual_seed(1)
    for i in range(3):
        for p in params:
            p.grad = torch.randn(p.shape, generator=gen) * 10.0 ** -(i + 3)
        params[1].grad = None if i == 1 else params[1].grad  # a step without its grad
        opt.step()
    return [p.detach().clone() for p in params]


def test_adamw_foreach_is_bitwise_the_per_parameter_loop():
    looped = _three_steps(foreach=False, fused=False)
    for a, b in zip(_three_steps(foreach=True, fused=False), looped, strict=True):
        assert torch.equal(a, b)


def test_adamw_fused_matches_the_per_parameter_loop():
    """Fused kernel + eps / sqrt(1 - beta2^t): UNITER's update up to float rounding, also for
    parameters whose step counts differ (params[1] skipped a step) and gradients near eps."""
    looped = _three_steps(foreach=False, fused=False)
    fused = _three_steps(fused=True)
    assert any(not torch.equal(a, b) for a, b in zip(fused, _three_steps(
        foreach=False, fused=False, eps=1e-3), strict=True))  # eps matters at these grads
    for a, b in zip(fused, looped, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
