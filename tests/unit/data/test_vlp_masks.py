"""VLP's seq2seq / bidirectional masks, decoding-step masks, region slots and mode sampling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vlkit.data.examples import PairExample
from vlkit.data.masking import MlmMasker
from vlkit.data.vlp import (
    BI,
    S2S,
    VlpTransform,
    bidirectional_mask,
    seq2seq_mask,
    step_mask,
    vlp_box,
    vlp_masks,
)
from vlkit.utils.errors import ConfigError

# row 0: [CLS] a b [SEP] r1 r2 (L = 6); row 1: [CLS] a [SEP] r1 pad pad
TXT_LENS = torch.tensor([4, 3])
NUM_BBS = torch.tensor([2, 1])

S2S_ROW0 = [  # keys: CLS a b SEP r1 r2
    [1, 0, 0, 0, 1, 1],  # CLS sees CLS + regions
    [1, 1, 0, 0, 1, 1],  # a
    [1, 1, 1, 0, 1, 1],  # b
    [1, 1, 1, 1, 1, 1],  # SEP
    [1, 0, 0, 0, 1, 1],  # r1 never sees the caption
    [1, 0, 0, 0, 1, 1],  # r2
]
S2S_ROW1 = [  # keys: CLS a SEP r1 pad pad
    [1, 0, 0, 1, 0, 0],
    [1, 1, 0, 1, 0, 0],
    [1, 1, 1, 1, 0, 0],
    [1, 0, 0, 1, 0, 0],
    [1, 1, 1, 1, 0, 0],  # padding rows see every real key
    [1, 1, 1, 1, 0, 0],
]


def test_seq2seq_mask_by_hand():
    mask = seq2seq_mask(TXT_LENS, NUM_BBS, 6)
    assert mask.shape == (2, 6, 6)
    assert mask[0].tolist() == S2S_ROW0
    assert mask[1].tolist() == S2S_ROW1


def test_bidirectional_mask_sees_every_real_key():
    mask = bidirectional_mask(TXT_LENS, NUM_BBS, 6)
    assert mask[0].tolist() == [[1] * 6] * 6
    assert mask[1].tolist() == [[1, 1, 1, 1, 0, 0]] * 6


def test_modes_pick_rows():
    mask = vlp_masks(torch.tensor([BI, S2S]), TXT_LENS, NUM_BBS, 6)
    assert mask[0].tolist() == [[1] * 6] * 6
    assert mask[1].tolist() == S2S_ROW1


def test_step_mask_matches_seq2seq_rows():
    # prefix [CLS r1 pad] cached, 2 caption tokens cached, step = [w3, MASK]
    prefix_valid = torch.tensor([[1, 1, 0]])
    mask = step_mask(prefix_valid, num_done=2, num_new=2)
    assert mask.tolist() == [[[1, 1, 0, 1, 1, 1, 0], [1, 1, 0, 1, 1, 1, 1]]]


def test_vlp_box_parts_are_normalised_and_conf_is_best_object_class():
    box7 = np.array([[0.1, 0.2, 0.5, 0.6, 0.4, 0.4, 0.16],
                     [0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0]], dtype=np.float32)
    soft = np.array([[0.1, 0.7, 0.2], [0.8, 0.15, 0.05]], dtype=np.float32)
    out = vlp_box(box7, soft, 3)
    assert out.shape == (2, 9)
    raw = np.array([0.1, 0.2, 0.5, 0.6, 0.16, 0.7])  # x1 y1 x2 y2 area conf(max non-bg)
    expected = (raw - raw.mean()) / np.sqrt(raw.var() + 1e-5)
    np.testing.assert_allclose(out[0, :6].numpy(), expected, rtol=1e-4, atol=1e-5)
    assert abs(float(out[1, 5]) - float(out[1, :6].mean())) > 0  # conf 0.15 enters
    probs = out[:, 6:]
    np.testing.assert_allclose(probs.mean(1).numpy(), 0.0, atol=1e-6)


def test_vlp_box_rejects_wrong_label_dim():
    with pytest.raises(ConfigError, match="img_label_dim=3"):
        vlp_box(np.zeros((2, 7)), np.zeros((2, 3)), 5)


def _maskers():
    # ids: 0 pad, 1 cls, 2 sep, 3 mask; 100% masking shows what each mode may mask
    s2s = MlmMasker(3, (10, 20), protected_ids=(0, 1), mask_prob=1.0)
    bi = MlmMasker(3, (10, 20), protected_ids=(0, 1, 2), mask_prob=1.0)
    return s2s, bi


def test_transform_s2s_masks_final_sep_and_bi_does_not():
    examples = [PairExample(id=str(i), img_id="img", input_ids=torch.tensor([1, 30, 31, 2]),
                            img_feat=torch.zeros(1, 4), img_pos_feat=torch.zeros(1, 7))
                for i in range(64)]
    out = VlpTransform(*_maskers(), s2s_prob=0.5, bi_prob=0.5)(examples,
                                                                torch.Generator().manual_seed(0))
    modes = [ex.vlp_mode for ex in out]
    assert S2S in modes and BI in modes
    assert [ex.pair.id for ex in out] == [ex.id for ex in examples]  # order kept
    for ex in out:
        labels = ex.txt_labels.tolist()
        assert labels[0] == -1  # [CLS] never
        assert labels[3] == (2 if ex.vlp_mode == S2S else -1)


def test_transform_probabilities_must_sum_to_one():
    with pytest.raises(ConfigError, match="s2s_prob"):
        VlpTransform(*_maskers(), s2s_prob=0.5, bi_prob=0.2)
