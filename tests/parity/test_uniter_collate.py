"""Collating the reference fixture's examples reproduces UNITER's collated tensors bit-exactly.

The per-example records are rebuilt from inputs.pt alone (unpadding by txt_lens / num_bbs;
boxes from the stored 6-d norm_bb rows), then collated by vlkit and compared with the
tensors UNITER's own collate functions produced.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from vlkit.data.collate import collate_itm, collate_mlm, collate_mrm, collate_plain
from vlkit.data.examples import ItmExample, MlmExample, MrmExample, PairExample
from vlkit.data.records import box6_to_box7

FIXTURE = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "uniter_parity"


@pytest.fixture(scope="module")
def ref() -> dict:
    return torch.load(FIXTURE / "inputs.pt", weights_only=True)


def _examples(ref: dict, ids_key: str = "plain.input_ids") -> list[PairExample]:
    tls, nbbs = ref["txt_lens"].tolist(), ref["num_bbs"].tolist()
    starts = np.cumsum([0, *nbbs])
    boxes = box6_to_box7(ref["img_norm_bb6"].numpy())
    return [PairExample(id=str(i), img_id=f"img{i}", input_ids=ref[ids_key][i, :tl].clone(),
                        img_feat=ref["plain.img_feat"][i, :nbb].numpy().copy(),
                        img_pos_feat=boxes[starts[i]:starts[i + 1]])
            for i, (tl, nbb) in enumerate(zip(tls, nbbs, strict=True))]


def _same(ours: torch.Tensor, theirs: torch.Tensor) -> None:
    assert ours.shape == theirs.shape
    assert ours.dtype == theirs.dtype, (ours.dtype, theirs.dtype)
    assert torch.equal(ours, theirs)


def test_plain_inputs_match(ref):
    inputs = collate_plain(_examples(ref)).inputs
    for name in ("input_ids", "position_ids", "img_feat", "img_pos_feat", "attn_masks",
                 "gather_index"):
        _same(getattr(inputs, name), ref[f"plain.{name}"])
    _same(inputs.txt_lens, ref["txt_lens"])
    _same(inputs.num_bbs, ref["num_bbs"])


def test_itm_ot_inputs_match(ref):
    examples = [ItmExample(pair=pair, itm_target=target) for pair, target
                in zip(_examples(ref), ref["itm.targets"].tolist(), strict=True)]
    batch = collate_itm(examples)
    _same(batch.targets, ref["itm.targets"])
    _same(batch.ot_scatter, ref["itm.ot_scatter"])
    _same(batch.txt_pad, ref["itm.txt_pad"])
    _same(batch.img_pad, ref["itm.img_pad"])
    assert batch.ot_scatter_max == int(ref["itm.ot_scatter"].max())
    _same(batch.inputs.gather_index, ref["plain.gather_index"])


def test_mlm_labels_pad_with_minus_one(ref):
    examples = [MlmExample(pair=pair, txt_labels=ref["mlm.txt_labels"][i, :len(pair.input_ids)]
                           .clone()) for i, pair in enumerate(_examples(ref, "mlm.input_ids"))]
    batch = collate_mlm(examples)
    _same(batch.inputs.input_ids, ref["mlm.input_ids"])
    _same(batch.txt_labels, ref["mlm.txt_labels"])
    assert batch.inputs.img_masks is None
    _same(batch.inputs.img_feat, ref["plain.img_feat"])


def test_mrm_given_masks_match(ref):
    masks = ref["mrm.img_masks"]
    label_targets = ref["mrc.label_targets"]
    gen = torch.Generator().manual_seed(0)
    row = 0
    examples = []
    for i, pair in enumerate(_examples(ref)):
        nbb = len(pair.img_feat)
        mask = masks[i, :nbb].clone()
        # Soft labels of unmasked regions are not in the fixture: fill them with noise so a
        # wrong selection order or a wrong row would show.
        soft = torch.rand(nbb, label_targets.shape[1], generator=gen)
        n_masked = int(mask.sum())
        soft[mask] = label_targets[row:row + n_masked]
        row += n_masked
        examples.append(MrmExample(pair=replace(pair, img_soft_labels=soft.numpy()),
                                   img_mask=mask))
    batch = collate_mrm(examples, task="mrc")
    _same(batch.inputs.img_masks, ref["mrm.img_masks"])
    _same(batch.img_mask_tgt, ref["mrm.img_mask_tgt"])
    _same(batch.inputs.img_feat, ref["mrm.img_feat"])
    _same(batch.feat_targets, ref["mrfr.feat_targets"])
    _same(batch.label_targets, ref["mrc.label_targets"])
    _same(batch.inputs.gather_index, ref["plain.gather_index"])
    _same(batch.inputs.img_pos_feat, ref["plain.img_pos_feat"])
