"""VCR prediction: the gold-conditioned and the all-answers layouts score alike, and the
leaderboard probabilities put each group's mass where the scores are highest."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from tests.unit.data.test_vcr_data import _record, _store
from tests.unit.data.tiny_stores import write_image_store
from vlkit.config import RunConfig
from vlkit.data.datasets.vcr import VcrEvalDataset
from vlkit.encoder_input import EncoderInput
from vlkit.evaluation.vcr import predict


class MaxIdScorer(nn.Module):
    """A row's "right" logit is its largest token id: answer k (ids 200+k) and rationale k
    (ids 300+k) score k higher than choice 0, so choice 3 always wins."""

    def forward(self, inp: EncoderInput) -> SimpleNamespace:
        return SimpleNamespace(pooled=inp.input_ids.max(1).values.float()[:, None] / 100)

    def head(self, name: str):
        assert name == "vcr"
        return lambda pooled: torch.cat([torch.zeros_like(pooled), pooled], 1)


@pytest.mark.parametrize("conditioned", ["gold", "all"])
def test_predict_scores_q2a_qa2r_q2ar(tmp_path, conditioned) -> None:
    img = write_image_store(tmp_path / "img", 2)
    txt = _store(tmp_path / "txt", [_record("v0", "img0", 1, 2), _record("v1", "img1", 3, 0),
                                    _record("v2", "img1", 3, 3)])
    data = VcrEvalDataset(txt, img, conditioned=conditioned)
    got = predict(MaxIdScorer(), RunConfig(), data, torch.device("cpu"), batch_size=2)
    # answers: 3 is right for v1, v2; rationales: 3 is right for v2 only
    assert got["q2a"] == pytest.approx(2 / 3) and got["qa2r"] == pytest.approx(1 / 3)
    assert got["q2ar"] == pytest.approx(1 / 3) and got["ids"] == ["v0", "v1", "v2"]
    assert got["rationale_probs"].shape == (3, 1 if conditioned == "gold" else 4, 4)
    assert np.allclose(got["answer_probs"].sum(1), 1.0)
    assert (got["answer_probs"].argmax(1) == 3).all()
