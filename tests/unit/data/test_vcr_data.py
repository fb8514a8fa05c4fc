"""VCR rows: UNITER's text layout and token types, targets, eval layouts, collate."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.unit.data.tiny_stores import write_image_store
from vlkit.data.collate.vcr import collate_vcr
from vlkit.data.datasets.vcr import (
    VcrDataset,
    VcrEvalDataset,
    VcrPretrainDataset,
    fit_lengths,
    vcr_text,
)
from vlkit.data.stores.native_txt import NativeTextStore, NativeTextStoreWriter
from vlkit.utils.errors import DataError

CLS, SEP = 101, 102


def _record(rid: str, img: str, a_label: int = 1, r_label: int = 2, ref: int = 0) -> dict:
    # question 3 tokens, answer k = [200 + k] * (k + 1), rationale k = [300 + k, 300 + k]
    return {"id": rid, "text": "q", "input_ids": [10, 11, 12], "img_id": img,
            "question": ["q"], "answer_choices": [["a"]] * 4, "rationale_choices": [["r"]] * 4,
            "answer_label": a_label, "rationale_label": r_label, "objects": ["person"] * 3,
            "question_ids": [10, 11, 12], "question_obj": [-1, ref, -1],
            "answer_ids": [[200 + k] * (k + 1) for k in range(4)],
            "answer_obj": [[-1] * (k + 1) for k in range(4)],
            "rationale_ids": [[300 + k] * 2 for k in range(4)],
            "rationale_obj": [[-1, -1] for _ in range(4)]}


def _store(path: Path, records: list[dict]) -> NativeTextStore:
    with NativeTextStoreWriter(path, task="vcr") as writer:
        for rec in records:
            writer.add(rec)
    return NativeTextStore(path)


@pytest.fixture()
def stores(tmp_path: Path):
    img = write_image_store(tmp_path / "img", 2)  # img0: 3 regions, img1: 4
    txt = _store(tmp_path / "txt", [_record("v0", "img0"), _record("v1", "img1", 3, 0)])
    return txt, img


def test_fit_lengths_cuts_the_longest_segment_first() -> None:
    assert fit_lengths([5, 2, 9], 16) == [5, 2, 9]
    assert fit_lengths([5, 2, 9], 12) == [5, 2, 5]
    assert fit_lengths([5, 2, 9], 8) == [3, 2, 3]


def test_text_layout_and_token_types_follow_uniter() -> None:
    # UNITER's VcrDataset: QA->R types [0] + [0]*q + [2]*(a+1) + [3]*(r+2)
    ids, types = vcr_text([([10, 11], 0), ([20], 2), ([30, 31, 32], 3)], CLS, SEP, 50)
    assert ids.tolist() == [CLS, 10, 11, SEP, 20, SEP, 30, 31, 32, SEP]
    assert types.tolist() == [0, 0, 0, 2, 2, 3, 3, 3, 3, 3]
    # pretrain_vcr: a [SEP] takes the type of the segment before it
    _, types = vcr_text([([10, 11], 0), ([20], 2)], CLS, SEP, 50, sep_opens=False)
    assert types.tolist() == [0, 0, 0, 0, 2, 2]
    ids, _ = vcr_text([([10, 11, 12, 13], 0), ([20], 2)], CLS, SEP, 6)
    assert ids.tolist() == [CLS, 10, 11, SEP, 20, SEP]


def test_training_examples_are_qa_then_qar_with_the_gold_answer(stores) -> None:
    ds = VcrDataset(*stores, max_txt_len=60)
    assert len(ds) == 4
    qa, qar = ds[1], ds[3]  # record v1 (answer 3, rationale 0) in both stages
    assert qa.targets == [0, 0, 0, 1] and qar.targets == [1, 0, 0, 0]
    assert qa.rows[2].input_ids.tolist() == [CLS, 10, 11, 12, SEP, 202, 202, 202, SEP]
    row = qar.rows[1].input_ids.tolist()
    assert row == [CLS, 10, 11, 12, SEP, 203, 203, 203, 203, SEP, 301, 301, SEP]
    assert len(qa.image.img_feat) == 4 and qa.id == "v1"


def test_eval_layouts(stores) -> None:
    gold = VcrEvalDataset(*stores, max_txt_len=60, conditioned="gold")[0]  # answer 1, rat. 2
    assert len(gold.rows) == 8
    assert gold.targets == [0, 1, 0, 0, 0, 0, 1, 0]
    assert gold.rows[6].input_ids.tolist()[5:7] == [201, 201]
    full = VcrEvalDataset(*stores, max_txt_len=60, conditioned="all")[0]
    assert len(full.rows) == 20
    # rationale rows conditioned on answer a sit at 4 + 4a .. 4 + 4a + 3
    assert full.rows[4 + 4 * 3 + 1].input_ids.tolist()[5:9] == [203] * 4
    assert full.targets[4:8] == [-1] * 4 and full.targets[8:12] == [0, 0, 1, 0]


def test_pretrain_examples_hold_the_gold_text(stores) -> None:
    ds = VcrPretrainDataset(*stores, max_txt_len=60)
    qa, qar = ds[0], ds[2]
    assert qa.input_ids.tolist() == [CLS, 10, 11, 12, SEP, 201, 201, SEP]
    assert qar.input_ids.tolist()[-4:] == [SEP, 302, 302, SEP]
    assert qar.txt_type_ids.tolist() == [0, 0, 0, 0, 0, 2, 2, 2, 3, 3, 3]
    assert qa.img_soft_labels is not None


def test_object_reference_past_the_regions_and_missing_labels_are_errors(tmp_path) -> None:
    img = write_image_store(tmp_path / "img", 1)  # 3 regions
    txt = _store(tmp_path / "bad", [_record("v0", "img0", ref=3)])
    with pytest.raises(DataError, match="refers to object 3 but image 'img0' has 3 regions"):
        VcrEvalDataset(txt, img)
    txt = _store(tmp_path / "test", [_record("t0", "img0", a_label=-1, r_label=-1)])
    with pytest.raises(DataError, match="'answer_label' must be 0..3 for training"):
        VcrDataset(txt, img)
    assert VcrEvalDataset(txt, img, conditioned="all")[0].targets == [-1] * 20


def test_collate_repeats_regions_per_row_and_pads_token_types(stores) -> None:
    ds = VcrDataset(*stores, max_txt_len=60)
    batch = collate_vcr([ds[0], ds[3]])
    assert batch.size == 2 and batch.rows_per_example == 4 and batch.ids == ["v0", "v1"]
    assert batch.inputs.input_ids.shape[0] == 8
    assert batch.inputs.num_bbs.tolist() == [3] * 4 + [4] * 4
    assert batch.targets.tolist() == [0, 1, 0, 0, 1, 0, 0, 0]
    types = batch.inputs.txt_type_ids
    assert types.shape == batch.inputs.input_ids.shape
    lens = batch.inputs.txt_lens
    assert types[0, : lens[0]].tolist() == [0, 0, 0, 0, 2, 2, 2]
    assert (types[0, lens[0]:] == 0).all()
    assert torch.equal(batch.inputs.img_feat[4], batch.inputs.img_feat[7])
    with pytest.raises(DataError, match="equally many rows"):
        collate_vcr([ds[0], VcrEvalDataset(*stores, conditioned="gold")[0]])
