"""Incremental (cached) decoding gives the same tokens as full recomputation; VLP masks act."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from vlkit.data.collate.vlp import collate_caption, collate_vlp
from vlkit.data.examples import CaptionExample, PairExample, VlpExample
from vlkit.data.vlp import BI, S2S
from vlkit.generation import BeamConfig
from vlkit.models.config import ModelConfig
from vlkit.models.vlp import Vlp
from vlkit.objectives.caption import FullStepper, IncrementalStepper, decode

SPECIAL = {"pad": 0, "cls": 1, "sep": 2, "mask": 3}
LABELS = 5


def tiny_vlp() -> Vlp:
    torch.manual_seed(0)
    cfg = ModelConfig(arch="vlp", vocab_size=40, hidden_size=32, num_layers=2, num_heads=4,
                      intermediate_size=64, max_position_embeddings=40, type_vocab_size=6,
                      img_dim=16, img_label_dim=LABELS, initializer_range=0.3)
    return Vlp(cfg).eval()


def examples(n: int, seed: int = 0) -> list[CaptionExample]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        nbb = int(rng.integers(2, 7))  # different region counts: padded prefixes
        xy = rng.uniform(0, 0.5, (nbb, 2))
        wh = rng.uniform(0.1, 0.5, (nbb, 2))
        box = np.concatenate([xy, xy + wh, wh, wh[:, :1] * wh[:, 1:]], 1).astype(np.float32)
        pair = PairExample(
            id=f"i{i}", img_id=f"i{i}", input_ids=torch.tensor([1]),
            img_feat=rng.normal(size=(nbb, 16)).astype(np.float16), img_pos_feat=box,
            img_soft_labels=rng.dirichlet(np.ones(LABELS), nbb).astype(np.float32))
        out.append(CaptionExample(pair=pair, refs=[[5, 6, 7]]))
    return out


@pytest.mark.parametrize("beam", [BeamConfig(max_len=8, min_len=8),
                                  BeamConfig(beam_size=3, max_len=8, block_trigrams=True),
                                  BeamConfig(beam_size=2, max_len=6, length_penalty=1.0)])
def test_incremental_decoding_equals_full_recomputation(beam):
    model = tiny_vlp()
    batch = collate_caption(examples(5), LABELS)
    with torch.no_grad():
        fast = decode(model, batch, SPECIAL, beam, incremental=True)
        slow = decode(model, batch, SPECIAL, beam, incremental=False)
    assert fast == slow
    assert any(len(c) >= 3 for c in fast)  # real sequences, not immediate end tokens


def test_step_logits_match_full_forward_teacher_forced():
    model = tiny_vlp()
    batch = collate_caption(examples(4, seed=1), LABELS)
    forced = torch.tensor([[5, 9, 11, 5, 2, 0], [7, 7, 8, 30, 12, 2],
                           [6, 2, 0, 0, 0, 0], [10, 11, 12, 13, 14, 15]])
    with torch.no_grad():
        inc = IncrementalStepper(model, batch, SPECIAL["mask"])
        full = FullStepper(model, batch, SPECIAL["mask"])
        for t in range(forced.shape[1] + 1):
            a, b = inc.next_logits(forced[:, :t]), full.next_logits(forced[:, :t])
            torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def _train_batch(mode: int, caption: list[int]) -> object:
    pair = examples(1, seed=2)[0].pair
    ex = VlpExample(pair=replace(pair, input_ids=torch.tensor([1, *caption, 2])),
                    txt_labels=torch.full((len(caption) + 2,), -1), vlp_mode=mode)
    return collate_vlp([ex], LABELS)


def test_seq2seq_regions_ignore_the_caption_bidirectional_do_not():
    model = tiny_vlp()
    with torch.no_grad():
        outs = {}
        for mode in (S2S, BI):
            a = model(_train_batch(mode, [5, 6, 7]).inputs).sequence
            b = model(_train_batch(mode, [9, 8, 7]).inputs).sequence
            outs[mode] = (a, b)
    a, b = outs[S2S]
    torch.testing.assert_close(a[:, 5:], b[:, 5:])  # regions after [CLS] w w w [SEP]
    torch.testing.assert_close(a[:, 0], b[:, 0])  # [CLS]
    assert not torch.allclose(a[:, 1:4], b[:, 1:4])
    a, b = outs[BI]
    assert not torch.allclose(a[:, 5:], b[:, 5:], atol=1e-4)


def test_vlp_forward_is_device_agnostic_shapes():
    model = tiny_vlp()
    batch = _train_batch(S2S, [5, 6])
    out = model(batch.inputs)
    assert out.sequence.shape == (1, int(batch.inputs.attn_masks.shape[1]), 32)
    assert batch.inputs.attn_masks.shape[1:] == (out.sequence.shape[1],) * 2
