"""ItmRankDataset negatives, ReDataset targets and their collates."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vlkit.data.collate import collate_itm_rank, collate_re
from vlkit.data.datasets import ItmRankDataset, PairDataset, ReDataset
from vlkit.data.stores.native_txt import NativeTextStore, NativeTextStoreWriter
from vlkit.utils.errors import DataError


def _rank_set(pair_stores, neg_size=3, seed=0) -> ItmRankDataset:
    txt, img = pair_stores
    return ItmRankDataset(PairDataset(txt, img, cls_sep=(101, 102)), neg_size, seed)


def test_negatives_are_distinct_and_never_match(pair_stores):
    ds = _rank_set(pair_stores, neg_size=4)
    for i in range(len(ds)):
        imgs, txts = ds.negatives(i)
        gt = int(ds.gt[i])
        assert len(imgs) == len(set(imgs)) == 4 and gt not in imgs
        assert len(txts) == len(set(txts)) == 4
        assert all(int(ds.gt[t]) != gt for t in txts)


def test_negatives_are_keyed_by_seed_epoch_and_index(pair_stores):
    a, b = _rank_set(pair_stores), _rank_set(pair_stores)
    assert [a.negatives(i) for i in range(10)] == [b.negatives(i) for i in range(10)]
    b.set_epoch(1)
    assert [a.negatives(i) for i in range(10)] != [b.negatives(i) for i in range(10)]


def test_neg_size_larger_than_the_pool_is_a_data_error(pair_stores):
    with pytest.raises(DataError, match="neg_size"):
        _rank_set(pair_stores, neg_size=20)  # 20 images: only 19 others


def test_collate_flattens_groups_with_the_positive_first(pair_stores):
    ds = _rank_set(pair_stores, neg_size=2)
    batch = collate_itm_rank([ds[0], ds[5]])
    assert (batch.sample_size, batch.num_img_neg, batch.num_txt_neg) == (5, 2, 2)
    assert batch.inputs.size == 10 and batch.num_groups == 2
    txt, img = pair_stores
    imgs, txts = ds.negatives(5)
    row = 5 + 1  # group 1, first negative image
    nbb = int(batch.inputs.num_bbs[row])
    expect = img.get(ds.all_imgs[imgs[0]]).feat.astype(np.float32)
    assert torch.equal(batch.inputs.img_feat[row, :nbb], torch.from_numpy(expect))
    text_row = 5 + 3  # group 1, first negative text
    tl = int(batch.inputs.txt_lens[text_row])
    assert batch.inputs.input_ids[text_row, 1:tl - 1].tolist() == \
        txt.get(ds.pairs.ids[txts[0]])["input_ids"]


def _refer_store(path, img, with_region=True, bad_region=False):
    with NativeTextStoreWriter(path, task="refer") as writer:
        for k in range(6):
            rec = img.get(f"img{k}")
            region = (k * 7) % len(rec.boxes)
            rid = {"id": f"r{k}", "text": "x", "input_ids": [2000 + k], "img_id": f"img{k}",
                   "ref_id": k, "ann_id": k, "split": "val",
                   "target_box": [float(v) for v in rec.boxes[region, :4]]}
            if with_region:
                rid["target_region"] = 99 if bad_region else region
            writer.add(rid)
    return NativeTextStore(path)


@pytest.fixture
def sorted_boxes_img(tmp_path):
    """Image store whose boxes are proper xyxy (x1 < x2), distinct per region."""
    from vlkit.data.records import ImageRecord
    from vlkit.data.stores.native_img import NativeImageStore, NativeImageStoreWriter

    rng = np.random.default_rng(0)
    with NativeImageStoreWriter(tmp_path / "img") as writer:
        for k in range(6):
            n = 3 + k
            xy = rng.uniform(0, 0.5, (n, 2))
            wh = rng.uniform(0.1, 0.5, (n, 2))
            boxes = np.concatenate([xy, xy + wh, wh, wh[:, :1] * wh[:, 1:]], 1)
            writer.add(ImageRecord(id=f"img{k}", feat=rng.normal(size=(n, 8)),
                                   boxes=boxes.astype(np.float32), soft_labels=None))
    return NativeImageStore(tmp_path / "img")


def test_re_targets_from_region_index_or_best_iou(tmp_path, sorted_boxes_img):
    img = sorted_boxes_img
    by_index = ReDataset(PairDataset(_refer_store(tmp_path / "a", img), img, cls_sep=(1, 2)))
    by_iou = ReDataset(PairDataset(_refer_store(tmp_path / "b", img, with_region=False), img,
                                   cls_sep=(1, 2)), use_target_region=False)
    for k in range(6):
        expected = (k * 7) % (3 + k)
        assert by_index[k].re_target == expected == by_iou[k].re_target
    batch = collate_re([by_index[0], by_index[3]])
    assert batch.targets.tolist() == [0, (3 * 7) % 6]
    assert batch.region_pad.tolist()[0] == [False] * 3 + [True] * 3
    assert torch.allclose(batch.region_boxes[1], torch.from_numpy(
        img.get("img3").boxes[:, :4].astype(np.float32)))
    assert batch.ids == ["r0", "r3"]


def test_re_target_region_out_of_range_is_a_data_error(tmp_path, sorted_boxes_img):
    img = sorted_boxes_img
    ds = ReDataset(PairDataset(_refer_store(tmp_path / "a", img, bad_region=True), img,
                               cls_sep=(1, 2)))
    with pytest.raises(DataError, match="target_region 99"):
        ds[0]

