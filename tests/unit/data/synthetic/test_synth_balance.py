"""Labels are balanced and text alone is near chance (generated directly from many scenes)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from vlkit.data.synthetic.entailment import snli_ve_records
from vlkit.data.synthetic.nlvr2 import nlvr2_records
from vlkit.data.synthetic.probes import bow_accuracy, chance_accuracy, majority_accuracy
from vlkit.data.synthetic.vqa import vqa_records
from vlkit.data.synthetic.world import make_images
from vlkit.featurizers.synthetic import get_extractor

NUM = 600


@pytest.fixture(scope="module")
def items():
    return make_images(11, range(NUM), get_extractor(8))[1]


def _vqa(items):
    return [r for it in items for r in vqa_records(it, np.random.default_rng([1, it.index]))]


def test_vqa_answers_balanced_within_each_type(items):
    by_type: dict[str, Counter] = {}
    for rec in _vqa(items):
        by_type.setdefault(rec["question_type"], Counter())[rec["answers"][0]] += 1
    expected = {"is there a": 2, "how many": 5, "what color is the": 8,
                "what shape is the": 6, "what size is the": 2}
    for qtype, counts in by_type.items():
        assert len(counts) == expected[qtype], qtype
        share = np.array(list(counts.values())) / sum(counts.values())
        assert share.max() < 2.0 / expected[qtype], (qtype, counts)
    assert min(sum(c.values()) for c in by_type.values()) > 0.9 * NUM


def test_snli_ve_and_nlvr2_labels_balanced(items):
    ve = Counter(r["label"] for it in items
                 for r in snli_ve_records(it, np.random.default_rng([2, it.index])))
    assert set(ve) == {0, 1, 2} and max(ve.values()) - min(ve.values()) < 0.05 * NUM
    nlvr = [r["label"] for r in nlvr2_records(items, np.random.default_rng(3), "train")]
    assert len(nlvr) == 2 * NUM and 0.42 < np.mean(nlvr) < 0.58


def test_text_only_guessing_is_near_chance(items):
    records = _vqa(items)
    cut = int(0.8 * len(records))
    train, test = records[:cut], records[cut:]

    def cols(recs):
        return ([r["text"] for r in recs], [r["question_type"] for r in recs],
                [r["target"]["labels"][0] for r in recs])

    (tr_x, tr_t, tr_y), (te_x, te_t, te_y) = cols(train), cols(test)
    chance = chance_accuracy(tr_t, tr_y, te_t)
    assert 0.25 < chance < 0.35
    assert majority_accuracy(tr_x, tr_t, tr_y, te_x, te_t, te_y) < chance + 0.08
    assert bow_accuracy(tr_x, tr_y, te_x, te_y, steps=100) < chance + 0.08


def test_text_only_guesser_detects_a_leak():
    """The probe itself works: a leaking label is found (so a pass above is meaningful)."""
    texts = [f"the answer is {w} ." for w in ("red", "blue") * 100]
    labels = [0, 1] * 100
    assert bow_accuracy(texts[:150], labels[:150], texts[150:], labels[150:], steps=100) == 1.0
