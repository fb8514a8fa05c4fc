"""vlkit's CPU dropout: drop rate, scaling, gradient through the same mask, seeding, and the
training attention path that uses it."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from vlkit.modules import SelfAttention, attention_bias
from vlkit.modules.dropout import Dropout, dropout, keep_mask


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_keep_mask_drops_with_probability_p(p):
    torch.manual_seed(0)
    n = 400_000
    dropped = 1.0 - keep_mask((n,), p).float().mean().item()
    # 16-bit thresholds put the rate within 2^-17 of p; 6 binomial standard deviations beyond
    assert abs(dropped - p) < 6 * math.sqrt(p * (1 - p) / n) + 2**-17


def test_keep_mask_has_no_pattern_across_neighbours_or_odd_shapes():
    """Four elements share one 64-bit draw: they must still be independent of each other."""
    torch.manual_seed(1)
    keep = keep_mask((100_003,), 0.5)[:100_000].view(-1, 4).float()
    assert keep.shape == (25_000, 4)
    for j in range(4):  # each lane of a draw keeps half
        assert abs(keep[:, j].mean().item() - 0.5) < 0.02
    both = (keep[:, 0] * keep[:, 1]).mean().item()  # neighbours independent: 1/4
    assert abs(both - 0.25) < 0.02
    assert keep_mask((3, 5, 7), 0.2).shape == (3, 5, 7)


@pytest.mark.parametrize("p", [2**-16, 0.3, 1 - 2**-16, 1e-6, 1 - 1e-6])
def test_keep_mask_is_the_16_bit_threshold_at_every_rate(p):
    """The in-place int16 clamp equals comparing the drawn bits in int32, at the extreme
    thresholds too (where threshold - 1 is the int16 minimum), and rates within 2^-17 of 0 or
    1 keep or drop everything."""
    n = 1001
    torch.manual_seed(4)
    keep = keep_mask((n,), p)
    torch.manual_seed(4)
    bits = torch.empty((n + 3) // 4, dtype=torch.int64).random_(-2**63, None)
    bits = bits.view(torch.int16)[:n].int()
    assert keep.dtype == torch.int16
    assert torch.equal(keep.bool(), bits >= round(p * 2**16) - 2**15)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_dropout_scales_kept_values_and_backward_uses_the_same_mask(dtype):
    torch.manual_seed(2)
    x = torch.randn(64, 33, dtype=dtype).requires_grad_()
    out = dropout(x, 0.25, training=True)
    assert out.dtype == dtype
    kept = out != 0
    assert 0.15 < 1 - kept.float().mean().item() < 0.35
    torch.testing.assert_close(out[kept], (x[kept] / 0.75).to(dtype))
    g = torch.randn_like(out)
    out.backward(g)
    torch.testing.assert_close(x.grad, (g * kept / 0.75).to(dtype))


def test_dropout_is_identity_in_eval_and_p0_and_zero_at_p1():
    x = torch.randn(5, 6)
    layer = Dropout(0.3).eval()
    assert layer(x) is x
    assert dropout(x, 0.0, training=True) is x
    assert dropout(x, 1.0, training=True).abs().sum() == 0
    with pytest.raises(ValueError):  # nn.Dropout's own argument check
        Dropout(1.5)
    assert Dropout(0.3).state_dict() == nn.Dropout(0.3).state_dict() == {}


def test_masks_follow_torch_seed_and_rng_state():
    x = torch.ones(1000)
    torch.manual_seed(7)
    first = dropout(x, 0.5)
    state = torch.get_rng_state()
    second = dropout(x, 0.5)
    torch.manual_seed(7)
    assert torch.equal(dropout(x, 0.5), first)
    torch.set_rng_state(state)
    assert torch.equal(dropout(x, 0.5), second)
    assert not torch.equal(first, second)


def test_training_attention_with_dropout_is_attention_on_dropped_probabilities(monkeypatch):
    """With every key kept, the CPU training path equals eval SDPA's output / (1 - p); with the
    real mask, the dropped probabilities are zero and the rest scaled."""
    torch.manual_seed(3)
    attn = SelfAttention(16, 4, 0.2)
    x = torch.randn(3, 6, 16)
    pad = torch.tensor([[1] * 6, [1, 1, 1, 1, 0, 0], [1, 1, 0, 0, 0, 0]])
    bias = attention_bias(pad, x.dtype)
    want = attn.eval()(x, bias) / 0.8
    attn.train()
    monkeypatch.setattr("vlkit.modules.attention.dropout",
                        lambda t, p, training: t / (1 - p) if training else t)
    torch.testing.assert_close(attn(x, bias), want)
    seen = {}

    def spy(t, p, training):
        seen["out"] = dropout(t, p, training)
        seen["probs"] = t
        return seen["out"]
    monkeypatch.setattr("vlkit.modules.attention.dropout", spy)
    attn(x, bias)
    kept, real = seen["out"] != 0, seen["probs"] != 0  # padded keys have probability 0
    assert 0.1 < 1 - kept[real].float().mean().item() < 0.3
    torch.testing.assert_close(seen["out"][kept], seen["probs"][kept] / 0.8)
