"""MLM / MRM masking: rates, the 80/10/10 split, at least one, determinism, one modality."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vlkit.data.collate import collate_mlm, collate_mrm
from vlkit.data.examples import PairExample
from vlkit.data.masking import MlmMasker, MrmMasker, task_transform
from vlkit.utils.errors import ConfigError

CLS, SEP, MASK = 101, 102, 103


def _masker(**kw) -> MlmMasker:
    return MlmMasker(mask_id=MASK, vocab_range=(999, 30522), protected_ids=(0, CLS, SEP), **kw)


def _ids(n_words: int, gen: torch.Generator) -> torch.Tensor:
    words = torch.randint(2000, 3000, (n_words,), generator=gen)
    return torch.cat([torch.tensor([CLS]), words, torch.tensor([SEP])])


def test_mlm_rate_and_80_10_10_split():
    masker, gen = _masker(), torch.Generator().manual_seed(0)
    chosen = n_mask = n_random = n_keep = total = 0
    for _ in range(400):
        ids = _ids(50, gen)
        out, labels = masker.mask(ids, gen)
        sel = labels != -1
        assert torch.equal(labels[sel], ids[sel])
        assert not sel[0] and not sel[-1]  # [CLS]/[SEP] never masked
        assert torch.equal(out[~sel], ids[~sel])
        chosen += int(sel.sum())
        total += 50
        n_mask += int((out[sel] == MASK).sum())
        n_keep += int((out[sel] == ids[sel]).sum())
        n_random += int(((out[sel] != MASK) & (out[sel] != ids[sel])).sum())
    assert abs(chosen / total - 0.15) < 0.01
    assert abs(n_mask / chosen - 0.8) < 0.03
    assert abs(n_random / chosen - 0.1) < 0.02
    assert abs(n_keep / chosen - 0.1) < 0.02


def test_random_replacements_stay_in_vocab_range():
    masker, gen = _masker(mask_prob=1.0), torch.Generator().manual_seed(1)
    out, labels = masker.mask(_ids(2000, gen), gen)
    replaced = (labels != -1) & (out != MASK) & (out != labels)
    assert replaced.any()
    assert int(out[replaced].min()) >= 999 and int(out[replaced].max()) < 30522


def test_at_least_one_token_masked():
    masker, gen = _masker(mask_prob=0.01), torch.Generator().manual_seed(2)
    for _ in range(300):
        ids = _ids(3, gen)
        out, labels = masker.mask(ids, gen)
        assert int((labels != -1).sum()) >= 1
    forced_only = _masker(mask_prob=1e-9)
    out, labels = forced_only.mask(ids, gen)
    assert int((labels != -1).sum()) == 1 and int((out == MASK).sum()) == 1


def test_same_generator_state_same_masks():
    masker = _masker()
    ids = _ids(40, torch.Generator().manual_seed(3))
    a = masker.mask(ids, torch.Generator().manual_seed(7))
    b = masker.mask(ids, torch.Generator().manual_seed(7))
    c = masker.mask(ids, torch.Generator().manual_seed(8))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[1], c[1])


def test_focus_ids_are_preferred_at_the_same_overall_rate():
    focus = set(range(2000, 2100))  # 10% of the word ids
    masker, gen = _masker(focus_ids=focus, focus_weight=5.0), torch.Generator().manual_seed(4)
    hit_focus = n_focus = chosen = total = 0
    for _ in range(400):
        ids = _ids(50, gen)
        _, labels = masker.mask(ids, gen)
        is_focus = torch.isin(ids, torch.tensor(sorted(focus)))
        hit_focus += int(((labels != -1) & is_focus).sum())
        n_focus += int(is_focus.sum())
        chosen += int((labels != -1).sum())
        total += 50
    assert abs(chosen / total - 0.15) < 0.015
    assert hit_focus / n_focus > 0.5  # 5x the weight: ~0.15 * 5 / 1.4


def test_bad_probability_is_a_config_error():
    with pytest.raises(ConfigError):
        _masker(mask_prob=0.0)
    with pytest.raises(ConfigError):
        MrmMasker(mask_prob=1.5)


def test_batch_pass_masks_every_example_independently():
    masker, gen = _masker(mask_prob=0.05), torch.Generator().manual_seed(9)
    seqs = [_ids(n, gen) for n in (1, 2, 30, 3, 80)]
    for _ in range(50):
        for ids, (out, labels) in zip(seqs, masker.mask_many(seqs, gen), strict=True):
            assert out.shape == labels.shape == ids.shape
            assert 1 <= int((labels != -1).sum())
            assert labels[0] == -1 and labels[-1] == -1


def test_mrm_rate_and_at_least_one():
    masker, gen = MrmMasker(0.15), torch.Generator().manual_seed(5)
    total = sum(int(masker.mask(100, gen).sum()) for _ in range(200))
    assert abs(total / 20000 - 0.15) < 0.01
    assert all(int(masker.mask(2, gen).sum()) >= 1 for _ in range(200))
    masks = masker.mask_many([1, 3, 50, 2], gen)
    assert [len(m) for m in masks] == [1, 3, 50, 2] and all(m.any() for m in masks)


def _example(gen: torch.Generator) -> PairExample:
    n = 6
    return PairExample(id="x", img_id="img", input_ids=_ids(8, gen),
                       img_feat=np.random.default_rng(0).random((n, 16)).astype(np.float16),
                       img_pos_feat=np.random.default_rng(1).random((n, 7)).astype(np.float32))


def test_only_one_modality_is_masked():
    gen = torch.Generator().manual_seed(6)
    examples = [_example(gen) for _ in range(4)]
    mlm = task_transform("mlm", _masker(mask_prob=0.5), None)
    mrm = task_transform("mrfr", None, MrmMasker(0.5))
    assert task_transform("itm", _masker(), MrmMasker()) is None
    mlm_batch = collate_mlm(mlm(examples, gen))
    mrm_batch = collate_mrm(mrm(examples, gen), task="mrfr")
    plain_feat = torch.from_numpy(np.stack([ex.img_feat for ex in examples])).float()
    # MLM: tokens masked, regions whole and no region mask.
    assert (mlm_batch.txt_labels != -1).any()
    assert mlm_batch.inputs.img_masks is None
    assert torch.equal(mlm_batch.inputs.img_feat, plain_feat)
    # MRM: regions masked, tokens untouched and no token labels.
    assert mrm_batch.inputs.img_masks.any()
    assert torch.equal(mrm_batch.inputs.input_ids, torch.stack([ex.input_ids
                                                                for ex in examples]))
    assert not (mrm_batch.inputs.input_ids == MASK).any()
    assert torch.equal(mrm_batch.feat_targets, plain_feat[mrm_batch.inputs.img_masks])
    assert (mrm_batch.inputs.img_feat[mrm_batch.inputs.img_masks] == 0).all()
