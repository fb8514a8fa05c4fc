"""Retrieval evaluation loads a model with its own rank head, or derives it from ITM."""

from __future__ import annotations

import pytest
import torch

from vlkit.config import RunConfig
from vlkit.evaluation.itm import load_eval_model
from vlkit.models.config import ModelConfig
from vlkit.models.zoo import build_model
from vlkit.utils.errors import CheckpointError

SMALL = ModelConfig(hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32,
                    img_dim=8, img_label_dim=3, vocab_size=50, max_position_embeddings=16)


def _weights(heads: tuple[str, ...]) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return build_model(SMALL, heads=heads).state_dict()


def test_rank_head_is_loaded_as_is():
    sd = _weights(("rank",))
    model = load_eval_model(RunConfig(model=SMALL), sd)
    assert torch.equal(model.rank_output.weight, sd["rank_output.weight"])


def test_rank_head_from_the_itm_match_log_odds():
    sd = _weights(("itm",))
    model = load_eval_model(RunConfig(model=SMALL), sd)
    w, b = sd["itm_output.weight"], sd["itm_output.bias"]
    assert torch.allclose(model.rank_output.weight[0], w[1] - w[0])
    assert torch.allclose(model.rank_output.bias[0], b[1] - b[0])


def test_neither_head_is_an_error():
    with pytest.raises(CheckpointError, match="rank_output or itm_output"):
        load_eval_model(RunConfig(model=SMALL), _weights(("re",)))
