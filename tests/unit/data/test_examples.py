"""Typed examples: every task dataset (and masker) yields its documented dataclass, the
batches built from them are bit-identical to those of the dict-based data layer they
replaced, and bad examples still fail with errors naming them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from task_batches import flat_batch, make_world, task_batches, task_datasets

from vlkit.data.collate import collate_inputs, collate_itm, collate_vcr
from vlkit.data.examples import (
    CaptionExample,
    ImageRegions,
    ItmExample,
    MlmExample,
    MrmExample,
    Nlvr2Example,
    PairExample,
    RankExample,
    ReExample,
    TextExample,
    TextMlmExample,
    VcrExample,
    VcrRow,
    VlpExample,
    VqaExample,
)
from vlkit.utils.errors import DataError

GOLDEN = Path(__file__).with_name("golden_batches.pt")

# task -> (what its dataset yields, what its masker turns that into)
EXPECTED = {
    "plain": (PairExample, PairExample),
    "mlm": (PairExample, MlmExample),
    "wwm": (PairExample, MlmExample),
    "mrfr": (PairExample, MrmExample),
    "mrc": (PairExample, MrmExample),
    "itm": (ItmExample, ItmExample),
    "itm_rank": (RankExample, RankExample),
    "vqa": (VqaExample, VqaExample),
    "ve": (VqaExample, VqaExample),
    "re": (ReExample, ReExample),
    "re_iou": (ReExample, ReExample),
    "vcr": (VcrExample, VcrExample),
    "vcr_eval": (VcrExample, VcrExample),
    "vcr_pretrain": (PairExample, MlmExample),
    "vcr_mrc": (PairExample, MrmExample),
    "text_mlm": (TextExample, TextMlmExample),
    "vlp": (PairExample, VlpExample),
    "vlp_vqa": (VqaExample, VqaExample),
    "caption": (CaptionExample, CaptionExample),
    "nlvr2_paired": (Nlvr2Example, Nlvr2Example),
    "nlvr2_triplet": (Nlvr2Example, Nlvr2Example),
    "nlvr2_paired-attn": (Nlvr2Example, Nlvr2Example),
}


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    root = tmp_path_factory.mktemp("typed-examples")
    return task_datasets(make_world(root / "world"), root)


def _no_dicts(value: object) -> bool:
    """True when no dict hides anywhere inside a (nested) example."""
    if isinstance(value, dict):
        return False
    if dataclasses.is_dataclass(value):
        return all(_no_dicts(getattr(value, f.name)) for f in dataclasses.fields(value))
    if isinstance(value, list | tuple):
        return all(_no_dicts(v) for v in value)
    return True


def test_every_task_dataset_yields_its_dataclass_and_its_masker_the_masked_one(datasets):
    assert set(datasets) == set(EXPECTED)
    for name, task in datasets.items():
        given, masked = EXPECTED[name]
        examples = [task.dataset[i] for i in range(len(task.dataset))]
        assert all(type(ex) is given and _no_dicts(ex) for ex in examples), name
        if task.transform is not None:
            out = task.transform(examples[:4], torch.Generator().manual_seed(0))
            assert all(type(ex) is masked and _no_dicts(ex) for ex in out), name


def test_nested_parts_are_typed_too(datasets):
    group = datasets["itm_rank"].dataset[0]
    assert all(type(p) is PairExample for p in group.pairs) and len(group.pairs) == 5
    vcr = datasets["vcr_eval"].dataset[0]
    assert type(vcr.image) is ImageRegions and all(type(r) is VcrRow for r in vcr.rows)
    nlvr2 = datasets["nlvr2_paired"].dataset[0]
    assert [type(img) for img in nlvr2.imgs] == [ImageRegions, ImageRegions]


def test_masking_returns_new_examples_and_leaves_the_datasets_untouched(datasets):
    task = datasets["mlm"]
    pair = task.dataset[0]
    before = pair.input_ids.clone()
    (masked,) = task.transform([pair], torch.Generator().manual_seed(0))
    assert masked.pair is not pair and torch.equal(pair.input_ids, before)
    assert not torch.equal(masked.pair.input_ids, before)
    assert masked.pair.img_feat is pair.img_feat
    with pytest.raises(dataclasses.FrozenInstanceError):
        pair.input_ids = before


def _same(old: object, new: object) -> bool:
    if isinstance(old, torch.Tensor):
        return isinstance(new, torch.Tensor) and old.dtype == new.dtype and torch.equal(old, new)
    return type(old) is type(new) and old == new


# batch fields that moved into the batch's EncoderInput with the one model interface
MOVED = {"img_type_ids": "inputs.img_type_ids", "txt_region_ids": "inputs.txt_region_ids"}


def test_batches_are_bit_identical_to_the_dict_based_data_layer(datasets):
    """golden_batches.pt holds these batches as the dict examples of commit 24a8668 built them
    (`python tests/unit/data/task_batches.py DIR OUT` run there); the only difference allowed
    is where the MOVED fields sit (and the new input fields a task leaves None)."""
    golden = torch.load(GOLDEN)
    built = {name: flat_batch(b) for name, b in task_batches(datasets).items()}
    assert built.keys() == golden.keys()
    for name, old in golden.items():
        fields = {MOVED.get(k, k): v for k, v in old.items()}
        new = {k: v for k, v in built[name].items() if k in fields or v is not None}
        assert new.keys() == fields.keys(), name
        diff = [f for f, v in fields.items() if not _same(v, new[f])]
        assert not diff, f"{name}: {diff}"


def _pair(rid: str, num_feat: int, num_boxes: int) -> PairExample:
    return PairExample(id=rid, img_id="img", input_ids=torch.tensor([101, 7, 102]),
                       img_feat=np.zeros((num_feat, 4), np.float16),
                       img_pos_feat=np.zeros((num_boxes, 7), np.float32))


def test_bad_examples_fail_naming_the_example():
    with pytest.raises(DataError, match="example 'q-17' has 3 region features and 2 boxes"):
        collate_inputs([_pair("ok", 2, 2), _pair("q-17", 3, 2)])
    with pytest.raises(DataError, match="example 'none' has 0 region features"):
        collate_itm([ItmExample(pair=_pair("none", 0, 0), itm_target=1)])
    with pytest.raises(DataError, match="expected PairExample examples, got ItmExample"):
        collate_inputs([ItmExample(pair=_pair("a", 2, 2), itm_target=1)])
    with pytest.raises(DataError, match="got an empty list"):
        collate_inputs([])


def test_vcr_examples_with_unequal_rows_are_refused(datasets):
    ex = datasets["vcr"].dataset[0]
    short = dataclasses.replace(ex, rows=ex.rows[:3], targets=ex.targets[:3])
    with pytest.raises(DataError, match="equally many rows and targets"):
        collate_vcr([ex, short])
