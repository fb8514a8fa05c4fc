"""NLVR2 dataset and the paired / triplet collates (row layout, gather index, token types)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from tiny_stores import write_image_store

from vlkit.data.collate.nlvr2 import collate_nlvr2
from vlkit.data.datasets.nlvr2 import Nlvr2Dataset
from vlkit.data.examples import ImageRegions, Nlvr2Example
from vlkit.data.stores.native_txt import NativeTextStore, NativeTextStoreWriter
from vlkit.utils.errors import DataError

# (text length incl. [CLS]/[SEP], left regions, right regions) per example
SIZES = [(4, 2, 3), (6, 1, 1), (3, 4, 2)]


def _examples() -> list[Nlvr2Example]:
    """Token k of example e is 100*e + k; region r of side s has feature[0] = 1000*e + 10*s + r."""
    out = []
    for e, (t, nl, nr) in enumerate(SIZES):
        imgs = [ImageRegions(img_id=f"e{e}s{s}",
                             img_feat=torch.tensor([[1000.0 * e + 10 * s + r, 0.5]
                                                    for r in range(n)]),
                             img_pos_feat=torch.rand(n, 7)) for s, n in enumerate((nl, nr))]
        out.append(Nlvr2Example(id=f"dev-{e}-0-0", input_ids=torch.arange(t) + 100 * e + 1,
                                imgs=imgs, nlvr2_target=e % 2))
    return out


def _joint_markers(batch) -> torch.Tensor:
    """(rows, L) what the compact sequence holds: token ids on text, feature[0] on regions."""
    inputs = batch.inputs
    both = torch.cat([inputs.input_ids.float(), inputs.img_feat[..., 0]], dim=1)
    return torch.gather(both, 1, inputs.gather_index)


def _joint_types(batch) -> torch.Tensor:
    inputs = batch.inputs
    both = torch.cat([torch.zeros_like(inputs.input_ids), batch.inputs.img_type_ids], dim=1)
    return torch.gather(both, 1, inputs.gather_index)


def test_triplet_row_is_sentence_then_left_then_right_regions():
    batch = collate_nlvr2(_examples(), "triplet")
    assert batch.inputs.input_ids.shape[0] == 3 and batch.size == 3
    markers, types = _joint_markers(batch), _joint_types(batch)
    for e, (t, nl, nr) in enumerate(SIZES):
        want = ([100.0 * e + 1 + k for k in range(t)]
                + [1000.0 * e + r for r in range(nl)]
                + [1000.0 * e + 10 + r for r in range(nr)])
        n = t + nl + nr
        assert markers[e, :n].tolist() == want
        assert types[e, :n].tolist() == [0] * t + [1] * nl + [2] * nr
        assert batch.inputs.attn_masks[e].sum() == n
    assert batch.inputs.img_type_ids.shape == (3, max(nl + nr for _, nl, nr in SIZES))
    assert batch.inputs.img_type_ids[1].tolist() == [1, 2, 0, 0, 0, 0]  # padding has type 0
    assert batch.targets.tolist() == [0, 1, 0]


def test_paired_rows_are_sentence_with_left_then_with_right_image():
    batch = collate_nlvr2(_examples(), "paired-attn")
    assert batch.inputs.input_ids.shape[0] == 6 and batch.size == 3
    markers, types = _joint_markers(batch), _joint_types(batch)
    for e, (t, nl, nr) in enumerate(SIZES):
        text = [100.0 * e + 1 + k for k in range(t)]
        for side, n in enumerate((nl, nr)):
            row = 2 * e + side
            assert markers[row, :t + n].tolist() == text + [1000.0 * e + 10 * side + r
                                                            for r in range(n)]
            assert types[row, :t + n].tolist() == [0] * t + [side + 1] * n
            assert batch.inputs.attn_masks[row].sum() == t + n
    assert batch.ids == ["dev-0-0-0", "dev-1-0-0", "dev-2-0-0"]


def test_unknown_variant_and_single_image_rejected():
    with pytest.raises(DataError, match="unknown variant"):
        collate_nlvr2(_examples(), "pair")
    bad = _examples()
    bad[0] = replace(bad[0], imgs=bad[0].imgs[:1])
    with pytest.raises(DataError, match="two images"):
        collate_nlvr2(bad, "paired")


def _nlvr2_store(path, records: list[dict]) -> NativeTextStore:
    with NativeTextStoreWriter(path, task="nlvr2") as writer:
        for rec in records:
            writer.add(rec)
    return NativeTextStore(path)


def test_dataset_examples_lengths_and_labels(tmp_path):
    img = write_image_store(tmp_path / "img", 4)  # img k has 3 + k regions
    recs = [{"id": "dev-1-0-0", "text": "x", "input_ids": [5, 6, 7], "img_ids": ["img0", "img2"],
             "label": 1},
            {"id": "dev-1-1-0", "text": "x", "input_ids": [5, 6], "img_ids": ["img3", "img1"],
             "label": 0}]
    txt = _nlvr2_store(tmp_path / "txt", recs)
    paired = Nlvr2Dataset(txt, [img], max_txt_len=10, paired=True)
    triplet = Nlvr2Dataset(txt, [img], max_txt_len=10, paired=False)
    assert paired.lens == [2 * 5 + 3 + 5, 2 * 4 + 6 + 4]
    assert triplet.lens == [5 + 3 + 5, 4 + 6 + 4]
    ex = paired[1]
    assert [i.img_id for i in ex.imgs] == ["img3", "img1"]
    assert [len(i.img_feat) for i in ex.imgs] == [6, 4]
    assert ex.input_ids.tolist()[1:-1] == [5, 6] and ex.nlvr2_target == 0
    assert paired.labels() == {"dev-1-0-0": True, "dev-1-1-0": False}


@pytest.mark.parametrize("field,value,message", [
    ("img_ids", ["img0"], "img_ids"),
    ("img_ids", ["img0", "nope"], "'nope'"),
    ("label", 2, "label"),
])
def test_dataset_rejects_bad_records(tmp_path, field, value, message):
    img = write_image_store(tmp_path / "img", 2)
    rec = {"id": "dev-1-0-0", "text": "x", "input_ids": [5], "img_ids": ["img0", "img1"],
           "label": 1, field: value}
    txt = _nlvr2_store(tmp_path / "txt", [rec])
    with pytest.raises(DataError, match=message) as err:
        Nlvr2Dataset(txt, [img])
    assert "dev-1-0-0" in str(err.value)
