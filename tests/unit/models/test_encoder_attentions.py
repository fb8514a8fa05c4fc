"""The encoder's opt-in attention output: one (B, heads, L, L) map per layer, same outputs."""

from __future__ import annotations

import torch

from vlkit.encoder_input import EncoderInput
from vlkit.models.config import ModelConfig
from vlkit.models.uniter import Uniter


def test_output_attentions_leaves_the_outputs_unchanged():
    torch.manual_seed(0)
    cfg = ModelConfig(hidden_size=32, num_layers=3, num_heads=2, intermediate_size=64,
                      vocab_size=50, max_position_embeddings=16, img_dim=8)
    model = Uniter(cfg, heads=()).eval()
    ids = torch.tensor([[1, 5, 6, 2], [1, 7, 2, 0]])
    gather = torch.tensor([[0, 1, 2, 3, 4, 5, 6], [0, 1, 2, 4, 5, 6, 6]])
    kwargs = dict(input_ids=ids, position_ids=torch.arange(4)[None],
                  img_feat=torch.randn(2, 3, 8), img_pos_feat=torch.rand(2, 3, 7),
                  attn_masks=torch.tensor([[1] * 7, [1] * 6 + [0]]), gather_index=gather)
    plain = model(EncoderInput(**kwargs))
    assert plain.attentions is None
    seen = model(EncoderInput(**kwargs), output_attentions=True)
    torch.testing.assert_close(seen.sequence, plain.sequence)
    assert len(seen.attentions) == 3
    assert all(a.shape == (2, 2, 7, 7) for a in seen.attentions)
    assert seen.attentions[0][1, :, :, 6].max() < 1e-4  # the padded position
