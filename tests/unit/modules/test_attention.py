"""Attention masks: key padding (B, L), full (B, L, L), bool and additive forms agree."""

from __future__ import annotations

import math

import torch

from vlkit.modules import SelfAttention, attention_bias


def _reference(attn: SelfAttention, x: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """Explicit softmax(QK^T/sqrt(d) + mask) V, written independently of SDPA."""
    b, n, h = x.shape
    def heads(t):
        return t.view(b, n, attn.num_heads, attn.head_dim).transpose(1, 2)
    q, k, v = heads(attn.query(x)), heads(attn.key(x)), heads(attn.value(x))
    scores = q @ k.transpose(-1, -2) / math.sqrt(attn.head_dim)
    scores = scores.masked_fill(~allowed[:, None], float("-inf"))
    return (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, n, h)


def test_key_padding_and_full_masks_match_explicit_attention():
    torch.manual_seed(0)
    attn = SelfAttention(16, 4, 0.0).eval()
    x = torch.randn(2, 5, 16)
    pad = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    want = _reference(attn, x, pad[:, None, :].expand(2, 5, 5).bool())
    torch.testing.assert_close(attn(x, attention_bias(pad, x.dtype)), want)
    causal = torch.tril(torch.ones(5, 5, dtype=torch.long)).expand(2, 5, 5) * pad[:, None, :]
    want_causal = _reference(attn, x, causal.bool())
    torch.testing.assert_close(attn(x, attention_bias(causal, x.dtype)), want_causal)
    torch.testing.assert_close(attn(x, causal.bool()[:, None]), want_causal)


def test_output_attentions_gives_the_explicit_probabilities_and_same_output():
    torch.manual_seed(1)
    attn = SelfAttention(16, 4, 0.0).eval()
    x = torch.randn(2, 5, 16)
    pad = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    bias = attention_bias(pad, x.dtype)
    out, probs = attn(x, bias, output_attentions=True)
    torch.testing.assert_close(out, attn(x, bias))
    assert probs.shape == (2, 4, 5, 5)
    torch.testing.assert_close(probs.sum(-1), torch.ones(2, 4, 5))
    assert probs[0, :, :, 3:].abs().max() < 1e-4  # padded keys get (almost) nothing
    b, n, h = x.shape
    q = attn.query(x).view(b, n, 4, 4).transpose(1, 2)
    k = attn.key(x).view(b, n, 4, 4).transpose(1, 2)
    want = (q @ k.transpose(-1, -2) / 2.0 + bias).softmax(-1)
    torch.testing.assert_close(probs, want)
    _, bool_probs = attn(x, pad.bool()[:, None, None, :], output_attentions=True)
    assert bool_probs[0, :, :, 3:].max() == 0


def test_cpu_bf16_attention_is_written_out_and_matches_fp32_sdpa(monkeypatch):
    """Under CPU bf16 autocast attention runs the explicit softmax (not SDPA): same output
    within bf16's precision, and a query row whose keys are all hidden gives zeros as SDPA's
    does (not NaN)."""
    torch.manual_seed(2)
    attn = SelfAttention(32, 4, 0.0).eval()
    x = torch.randn(3, 7, 32)
    allowed = torch.rand(3, 1, 7, 7) > 0.3
    allowed[..., 0] = True
    allowed[1, :, 5, :] = False  # a padding query: every key hidden
    pad = torch.tensor([[1] * 7, [1] * 5 + [0] * 2, [1] * 3 + [0] * 4])
    biases = (allowed, attention_bias(pad, torch.float32))
    wants = [attn(x, bias) for bias in biases]  # fp32: SDPA
    sdpa_calls = []
    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention",
                        lambda *args, **kwargs: sdpa_calls.append(1))
    for bias, want in zip(biases, wants, strict=True):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            got = attn(x, bias)
        assert got.dtype == torch.bfloat16 and torch.isfinite(got).all()
        torch.testing.assert_close(got.float(), want, atol=3e-2, rtol=3e-2)
    assert not sdpa_calls
