"""Collate: the compact gather index, OT scatter, dtypes and batch helpers."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from vlkit.data.batch import ItmBatch
from vlkit.data.collate import collate_itm, collate_plain, collate_vqa
from vlkit.data.examples import ItmExample, PairExample, VqaExample
from vlkit.utils.errors import DataError


def _examples(txt_lens, num_bbs, dim=4) -> list[PairExample]:
    rng = np.random.default_rng(0)
    return [PairExample(id=str(i), img_id=f"img{i}", input_ids=torch.arange(1, tl + 1) + 100 * i,
                        img_feat=rng.normal(size=(n, dim)).astype(np.float16),
                        img_pos_feat=rng.random((n, 7)).astype(np.float32))
            for i, (tl, n) in enumerate(zip(txt_lens, num_bbs, strict=True))]


def _itm(pairs: list[PairExample]) -> list[ItmExample]:
    return [ItmExample(pair=p, itm_target=i % 2) for i, p in enumerate(pairs)]


def _vqa(pairs: list[PairExample]) -> list[VqaExample]:
    return [VqaExample(pair=p, vqa_targets=torch.full((3,), float(i)), qid=f"q{i}")
            for i, p in enumerate(pairs)]


@pytest.mark.parametrize("txt_lens,num_bbs", [([5, 9, 3], [7, 2, 10]), ([4], [4]),
                                              ([12, 12], [1, 1])])
def test_gather_reads_each_rows_tokens_then_regions(txt_lens, num_bbs):
    inputs = collate_plain(_examples(txt_lens, num_bbs)).inputs
    B, Lt = inputs.input_ids.shape
    Nr = inputs.img_feat.shape[1]
    L = max(t + n for t, n in zip(txt_lens, num_bbs, strict=True))
    assert inputs.gather_index.shape == inputs.attn_masks.shape == (B, L)
    # tag every slot of cat([txt, img]) with (kind, position) and gather
    txt_tag = torch.arange(Lt).expand(B, Lt)
    img_tag = 1000 + torch.arange(Nr).expand(B, Nr)
    gathered = torch.gather(torch.cat([txt_tag, img_tag], 1), 1, inputs.gather_index)
    for i, (tl, nbb) in enumerate(zip(txt_lens, num_bbs, strict=True)):
        expected = list(range(tl)) + [1000 + r for r in range(nbb)]
        assert gathered[i, :tl + nbb].tolist() == expected
        assert inputs.attn_masks[i].tolist() == [1] * (tl + nbb) + [0] * (L - tl - nbb)
        # padding positions keep the identity index
        assert inputs.gather_index[i, tl + nbb:].tolist() == list(range(tl + nbb, L))


def test_ot_scatter_inverts_the_gather_on_real_positions():
    batch = collate_itm(_itm(_examples([5, 9, 3], [7, 2, 10])))
    assert isinstance(batch, ItmBatch)
    real = batch.inputs.attn_masks.bool()
    assert torch.equal(batch.ot_scatter[real], batch.inputs.gather_index[real])
    assert batch.ot_scatter_max == int(batch.ot_scatter.max())
    assert batch.txt_pad.sum(1).tolist() == [4, 0, 6]
    assert batch.img_pad.sum(1).tolist() == [3, 8, 0]
    assert batch.targets.tolist() == [0, 1, 0]


def test_features_become_float32_exactly():
    examples = _examples([3, 4], [2, 5])
    inputs = collate_plain(examples).inputs
    assert inputs.img_feat.dtype == torch.float32
    assert inputs.img_pos_feat.dtype == torch.float32
    assert torch.equal(inputs.img_feat[1, :5], torch.from_numpy(examples[1].img_feat).float())
    assert (inputs.img_feat[0, 2:] == 0).all() and (inputs.input_ids[0, 3:] == 0).all()
    assert inputs.position_ids.tolist() == [[0, 1, 2, 3]]


def test_size_tokens_and_move():
    batch = collate_vqa(_vqa(_examples([3, 4], [2, 5])))
    assert batch.size == 2 and batch.num_tokens == 14 and batch.inputs.padded_tokens == 18
    assert batch.targets.shape == (2, 3) and batch.qids == ["q0", "q1"]
    moved = batch.to("cpu")
    assert type(moved) is type(batch) and moved.task == "vqa"
    assert torch.equal(moved.inputs.gather_index, batch.inputs.gather_index)


def test_mismatched_boxes_are_a_data_error():
    (pair,) = _examples([3], [4])
    short = dataclasses.replace(pair, img_pos_feat=pair.img_pos_feat[:2])
    with pytest.raises(DataError, match="example '0' has 4 region features and 2 boxes"):
        collate_plain([short])
