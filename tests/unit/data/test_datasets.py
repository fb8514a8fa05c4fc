"""Task datasets over tiny native stores: pairs, ITM negatives, VQA targets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_stores import write_caption_store, write_image_store

from vlkit.data.datasets import ItmDataset, PairDataset, VqaDataset
from vlkit.data.records import ImageRecord
from vlkit.data.stores.native_img import NativeImageStore, NativeImageStoreWriter
from vlkit.data.stores.native_txt import NativeTextStore, NativeTextStoreWriter
from vlkit.text.tokenizer import get_tokenizer
from vlkit.utils.errors import DataError


def test_pair_examples_add_cls_sep_and_truncate(pair_stores):
    txt, img = pair_stores
    tok = get_tokenizer("bert-base-uncased")
    pairs = PairDataset(txt, img, max_txt_len=12)
    for i in (0, 15):
        ex = pairs[i]
        rec = txt.get(pairs.ids[i])
        body = rec["input_ids"][:10]
        assert ex.input_ids.tolist() == [tok.cls_id, *body, tok.sep_id]
        assert ex.img_id == rec["img_id"]
        image = img.get(rec["img_id"])
        assert np.array_equal(ex.img_feat, image.feat)
        assert np.array_equal(ex.img_pos_feat, image.boxes)
        assert pairs.lens[i] == len(ex.input_ids) + image.num_boxes
    assert max(len(pairs[i].input_ids) for i in range(len(pairs))) == 12


def test_missing_image_names_record_and_image(tmp_path, pair_stores):
    _, img = pair_stores
    with NativeTextStoreWriter(tmp_path / "bad", task="caption") as writer:
        writer.add({"id": "c0", "text": "x", "input_ids": [2000], "img_id": "nope"})
    with pytest.raises(DataError, match="'c0'.*'nope'"):
        PairDataset(NativeTextStore(tmp_path / "bad"), img, cls_sep=(101, 102))


def test_second_image_store_is_searched(tmp_path, pair_stores):
    txt, img = pair_stores
    with NativeImageStoreWriter(tmp_path / "extra") as writer:
        writer.add(ImageRecord(id="img_x", feat=np.ones((4, 16)), boxes=np.zeros((4, 7))))
    with NativeTextStoreWriter(tmp_path / "t2", task="caption") as writer:
        writer.add({"id": "a", "text": "x", "input_ids": [2000, 2001], "img_id": "img_x"})
        writer.add({"id": "b", "text": "x", "input_ids": [2002], "img_id": "img3"})
    pairs = PairDataset(NativeTextStore(tmp_path / "t2"), [img, NativeImageStore(tmp_path /
                                                                                  "extra")])
    assert pairs[0].img_feat.shape == (4, 16) and pairs.lens == [8, 9]


def test_itm_negative_ratio_and_negatives_are_other_images(tmp_path):
    img = write_image_store(tmp_path / "img", 30)
    txt = write_caption_store(tmp_path / "txt", 2000, 30)
    itm = ItmDataset(PairDataset(txt, img, cls_sep=(101, 102)), neg_prob=0.3, seed=1)
    labels, img_idx = itm.draws(0)
    assert abs(1 - labels.float().mean().item() - 0.3) < 0.03
    for i in range(0, 2000, 37):
        ex = itm[i]
        own = txt.get(itm.pairs.ids[i])["img_id"]
        assert (ex.pair.img_id == own) == (ex.itm_target == 1)
        assert itm.lens[i] == len(ex.pair.input_ids) + len(ex.pair.img_feat)
    # a pure function of (seed, epoch)
    again = ItmDataset(itm.pairs, neg_prob=0.3, seed=1)
    assert torch.equal(again.draws(0)[1], img_idx)
    assert not torch.equal(itm.draws(1)[1], img_idx)
    itm.set_epoch(1)
    assert itm.lens == itm.lengths(1)


def test_itm_needs_two_images(tmp_path):
    img = write_image_store(tmp_path / "img", 1)
    txt = write_caption_store(tmp_path / "txt", 3, 1)
    with pytest.raises(DataError, match="2 distinct"):
        ItmDataset(PairDataset(txt, img, cls_sep=(101, 102)))


def test_vqa_targets_are_dense_soft_scores(tmp_path, pair_stores):
    _, img = pair_stores
    meta = {"ans2label": {"yes": 0, "no": 1, "two": 2, "red": 3},
            "label2ans": ["yes", "no", "two", "red"]}
    with NativeTextStoreWriter(tmp_path / "vqa", task="vqa", meta=meta) as writer:
        writer.add({"id": "7", "text": "q", "input_ids": [2000], "img_id": "img1",
                    "answers": [], "target": {"labels": [1, 3], "scores": [0.3, 1.0]}})
        writer.add({"id": "8", "text": "q", "input_ids": [2001], "img_id": "img2",
                    "answers": []})
    vqa = VqaDataset(PairDataset(NativeTextStore(tmp_path / "vqa"), img, cls_sep=(101, 102)))
    assert vqa.num_answers == 4
    assert vqa[0].vqa_targets.tolist() == pytest.approx([0.0, 0.3, 0.0, 1.0])
    assert vqa[0].qid == "7"
    assert vqa[1].vqa_targets.tolist() == [0.0] * 4


def test_vqa_label_out_of_range_is_a_data_error(tmp_path, pair_stores):
    _, img = pair_stores
    with NativeTextStoreWriter(tmp_path / "vqa", task="vqa",
                               meta={"label2ans": ["yes"]}) as writer:
        writer.add({"id": "7", "text": "q", "input_ids": [2000], "img_id": "img1",
                    "target": {"labels": [4], "scores": [1.0]}})
    vqa = VqaDataset(PairDataset(NativeTextStore(tmp_path / "vqa"), img, cls_sep=(101, 102)))
    with pytest.raises(DataError, match="'7'.*target"):
        vqa[0]
