"""UniterTaskView: UNITER txt_db records (written here in UNITER's layout) as each task's
vlkit records, the txt_db's vocabulary in its manifest, and the errors that name the record."""

from __future__ import annotations

import numpy as np
import pytest
from uniter_db_helpers import write_txt_db

from vlkit.data.datasets.pair import ImageLookup, special_ids
from vlkit.data.records import ImageRecord
from vlkit.data.stores.memory import MemoryImageStore
from vlkit.data.stores.uniter_records import UniterTaskView
from vlkit.data.stores.uniter_txt_db import UniterTextStore
from vlkit.utils.errors import DataError

CASED = {"bert": "bert-base-cased", "UNK": 100, "CLS": 101, "SEP": 102, "MASK": 103,
         "v_range": [999, 28996]}


def _view(tmp_path, records, task=None, declared=None, meta=CASED, name="x.db", side=None):
    return UniterTaskView(UniterTextStore(write_txt_db(tmp_path / name, records, declared,
                                                       meta, side)), task)


def test_records_become_each_tasks_records(tmp_path):
    nlvr2 = _view(tmp_path, {"dev-1-0-0": {"input_ids": [5, 6], "label": "False", "target": 1,
                                           "img_fname": ["a.npz", "b.npz"]},
                             "test-1-0-1": {"input_ids": [7], "target": None,
                                            "img_fname": ["a.npz", "b.npz"]}}, declared="nlvr")
    assert nlvr2.task == "nlvr2"  # from meta.json's "nlvr"
    assert nlvr2.get("dev-1-0-0") == {"id": "dev-1-0-0", "input_ids": [5, 6],
                                      "img_ids": ["a.npz", "b.npz"], "label": 1}
    assert nlvr2.get("test-1-0-1")["label"] == -1
    target = {"labels": [2, 0], "scores": [0.3, 1.0]}
    vqa = _view(tmp_path, {"7": {"input_ids": [5], "img_fname": "c.npz", "target": target}},
                "vqa", name="vqa.db")
    assert vqa.get("7") == {"id": "7", "input_ids": [5], "img_id": "c.npz", "target": target}
    ve = _view(tmp_path, {"7": {"input_ids": [5], "img_fname": "c.npz", "target": target}},
               "snli_ve", name="ve.db")
    assert ve.get("7")["label"] == 0  # the label of the highest score
    vcr = _view(tmp_path, {"v-0": {"input_ids": [1], "input_ids_as": [[2]] * 4,
                                   "input_ids_rs": [[3]] * 4, "qa_target": 2,
                                   "img_fname": ["gt.npz", "det.npz"]}}, "vcr", name="vcr.db")
    assert vcr.get("v-0") == {"id": "v-0", "input_ids": [1], "img_id": "gt.npz+det.npz",
                              "question_ids": [1], "answer_ids": [[2]] * 4,
                              "rationale_ids": [[3]] * 4, "answer_label": 2,
                              "rationale_label": -1}


def test_manifest_states_the_vocabulary_and_datasets_use_its_special_ids(tmp_path):
    view = _view(tmp_path, {"1": {"input_ids": [5], "img_fname": "c.npz"}}, "caption",
                 meta={**CASED, "CLS": 1, "SEP": 2})
    assert view.manifest["vocab"] == "bert-base-cased" and view.manifest["vocab_size"] == 28996
    assert view.manifest["random_range"] == [999, 28996] and not view.manifest["lowercase"]
    assert special_ids(view) == (1, 2)
    bare = UniterTextStore(write_txt_db(tmp_path / "bare.db", {}, meta={"toker": "mine"}))
    assert "vocab_size" not in bare.manifest  # no v_range, no known size: nothing claimed


def test_errors_name_the_record_and_the_field(tmp_path):
    view = _view(tmp_path, {"q1": {"input_ids": [5]}}, "vqa")
    with pytest.raises(DataError, match=r"record 'q1'.*no field 'img_fname'"):
        view.get("q1")
    with pytest.raises(DataError, match="meta.json says task 'nlvr'"):
        _view(tmp_path, {}, "vqa", declared="nlvr", name="n.db")
    with pytest.raises(DataError, match="cannot tell which task"):
        _view(tmp_path, {}, name="unnamed.db")


def test_refer_target_region_and_box_from_images_json(tmp_path):
    images = [{"id": 9, "ann_ids": [40, 41, 42], "width": 200, "height": 100}]
    rec = {"input_ids": [5], "img_fname": "g.npz", "image_id": 9, "ann_id": 41,
           "bbox": [20, 10, 100, 50], "sent_id": 3, "ref_id": 2}
    view = _view(tmp_path, {"3": rec}, "refer", side={"images": images})
    got = view.get("3")
    assert got["target_region"] == 1 and got["target_box"] == [0.1, 0.1, 0.6, 0.6]


def test_a_joined_image_id_reads_its_parts_regions_in_order():
    def image(rid, n, value):
        return ImageRecord(id=rid, feat=np.full((n, 4), value, np.float32),
                           boxes=np.zeros((n, 7), np.float32),
                           soft_labels=np.ones((n, 3), np.float32))

    lookup = ImageLookup([MemoryImageStore([image("gt.npz", 2, 1.0)]),
                          MemoryImageStore([image("det.npz", 3, 2.0)])], "txt")
    joined = lookup.store("gt.npz+det.npz", "v-0")
    assert joined.num_boxes("gt.npz+det.npz") == 5
    rec = joined.get("gt.npz+det.npz")
    assert rec.feat[:, 0].tolist() == [1, 1, 2, 2, 2] and rec.soft_labels.shape == (5, 3)
    with pytest.raises(DataError, match="record 'v-0' names image 'nope.npz'"):
        lookup.store("gt.npz+nope.npz", "v-0")
    with pytest.raises(DataError, match="they hold 'gt.npz'"):
        lookup.store("gt", "input")
