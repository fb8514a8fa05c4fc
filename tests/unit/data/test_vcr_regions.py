"""VCR rows carry the region each token refers to (`txt_region_ids`), cut like the text."""

from __future__ import annotations

from pathlib import Path

import torch

from tests.unit.data.tiny_stores import write_image_store
from vlkit.data.collate.vcr import collate_vcr
from vlkit.data.datasets.vcr import VcrDataset, VcrEvalDataset, vcr_text, vcr_text_regions
from vlkit.data.stores.native_txt import NativeTextStore, NativeTextStoreWriter

CLS, SEP = 101, 102


def _record(rid: str, img: str) -> dict:
    # question "what is [1] ?" -> [10, 11, 12, 13] with [1] at 12; answer k = [200 + k, 21]
    # with answer 2 naming region 0; rationale k = [300 + k, 31, 32] naming region 2 at 32
    return {"id": rid, "text": "q", "input_ids": [10, 11, 12, 13], "img_id": img,
            "question": ["q"], "answer_choices": [["a"]] * 4, "rationale_choices": [["r"]] * 4,
            "answer_label": 2, "rationale_label": 1, "objects": ["person"] * 3,
            "question_ids": [10, 11, 12, 13], "question_obj": [-1, -1, 1, -1],
            "answer_ids": [[200 + k, 21] for k in range(4)],
            "answer_obj": [[0, -1] if k == 2 else [-1, -1] for k in range(4)],
            "rationale_ids": [[300 + k, 31, 32] for k in range(4)],
            "rationale_obj": [[-1, -1, 2] for _ in range(4)]}


def _stores(tmp_path: Path):
    img = write_image_store(tmp_path / "img", 1)  # img0: 3 regions
    with NativeTextStoreWriter(tmp_path / "txt", task="vcr") as writer:
        writer.add(_record("v0", "img0"))
    return NativeTextStore(tmp_path / "txt"), img


def test_regions_follow_the_text_layout_and_its_cuts() -> None:
    segments = [([10, 11, 12], 0), ([20, 21], 2), ([30, 31, 32, 33], 3)]
    objs = [[-1, 4, -1], [0, 0], [-1, -1, -1, 7]]
    ids, _ = vcr_text(segments, CLS, SEP, 50)
    regions = vcr_text_regions(objs, 50)
    # [CLS] 10 11 12 [SEP] 20 21 [SEP] 30 31 32 33 [SEP]
    assert regions.tolist() == [-1, -1, 4, -1, -1, 0, 0, -1, -1, -1, -1, 7, -1]
    assert len(regions) == len(ids)
    # max_len 10 leaves 6 tokens: the longest segments lose their ends -> [2, 2, 2]
    ids, _ = vcr_text(segments, CLS, SEP, 10)
    regions = vcr_text_regions(objs, 10)
    assert ids.tolist() == [CLS, 10, 11, SEP, 20, 21, SEP, 30, 31, SEP]
    assert regions.tolist() == [-1, -1, 4, -1, 0, 0, -1, -1, -1, -1]


def test_dataset_rows_and_batch_carry_the_referred_regions(tmp_path) -> None:
    txt, img = _stores(tmp_path)
    ex = VcrDataset(txt, img, 60)[1]  # QA->R with the gold answer (2)
    row = ex.rows[3]
    # [CLS] 10 11 12 13 [SEP] 202 21 [SEP] 303 31 32 [SEP]
    assert row.input_ids.tolist() == [CLS, 10, 11, 12, 13, SEP, 202, 21, SEP, 303, 31, 32,
                                         SEP]
    assert row.txt_region_ids.tolist() == [-1, -1, -1, 1, -1, -1, 0, -1, -1, -1, -1, 2, -1]
    batch = collate_vcr([VcrEvalDataset(txt, img, 60, conditioned="gold")[0]])
    assert batch.inputs.txt_region_ids.shape == batch.inputs.input_ids.shape == (8, 13)
    # Q->A row 2 names region 1 (question) and region 0 (answer 2); shorter rows pad with -1
    assert batch.inputs.txt_region_ids[2].tolist() == [-1, -1, -1, 1, -1, -1, 0, -1, -1] + [-1] * 4
    assert batch.inputs.txt_region_ids[0, 9:].tolist() == [-1] * 4


def test_rows_without_object_tags_refer_to_no_region(tmp_path) -> None:
    img = write_image_store(tmp_path / "img", 1)
    rec = _record("v0", "img0")
    for key in ("question_obj", "answer_obj", "rationale_obj"):
        del rec[key]
    with NativeTextStoreWriter(tmp_path / "txt", task="vcr") as writer:
        writer.add(rec)
    row = VcrDataset(NativeTextStore(tmp_path / "txt"), img, 60)[0].rows[0]
    assert torch.equal(row.txt_region_ids, torch.full_like(row.input_ids, -1))
