"""vlkit's token CIDEr-D against pycocoevalcap's CiderScorer on the same tokenised text."""

from __future__ import annotations

import pytest

from vlkit.metrics.cider import CiderD, coco_words, corpus_cider, ngram_counts

REFS = {
    "1": ["a red circle left of a blue square", "a blue square and a red circle",
          "two objects"],
    "2": ["a small green triangle", "one green triangle", "a triangle that is green"],
    "3": ["three shapes a red cross a pink ring and a white diamond",
          "a pink ring above a white diamond", "three objects"],
}
CANDS = {"1": "a red circle and a blue square", "2": "a green triangle",
         "3": "a pink ring above a red cross"}


def test_ngram_counts():
    counts = ngram_counts([1, 2, 1, 2])
    assert counts[(1, 2)] == 2 and counts[(1, 2, 1, 2)] == 1 and counts[(2,)] == 2
    assert sum(counts.values()) == 4 + 3 + 2 + 1


def test_matches_pycocoevalcap_cider_d():
    pytest.importorskip("pycocoevalcap", reason='pip install -e ".[dev]" (pycocoevalcap)')
    from pycocoevalcap.cider.cider_scorer import CiderScorer

    oracle = CiderScorer(n=4, sigma=6.0)
    for key in REFS:
        oracle += (CANDS[key], REFS[key])
    expected_mean, expected = oracle.compute_score()
    ours = CiderD([r.split() for r in refs] for refs in REFS.values())
    got = [ours.score(CANDS[k].split(), [r.split() for r in REFS[k]]) for k in REFS]
    assert got == pytest.approx(list(expected), rel=1e-9, abs=1e-12)
    assert ours.corpus_score([CANDS[k].split() for k in REFS],
                             [[r.split() for r in REFS[k]] for k in REFS]) == pytest.approx(
        expected_mean)
    assert max(got) > 0.5  # not a degenerate all-zero comparison


def test_works_on_token_ids_and_rewards_the_better_caption():
    refs = [[[5, 6, 7, 8], [5, 6, 9]], [[10, 11, 12], [10, 13]]]
    scorer = CiderD(refs)
    assert scorer.score([5, 6, 7, 8], refs[0]) > scorer.score([5, 13, 13], refs[0])
    with pytest.raises(ValueError):
        CiderD([])


def test_coco_words_drop_punctuation_as_the_coco_tokenizer_does():
    assert coco_words("A red circle, left of (a) blue-green square .") == \
        ["a", "red", "circle", "left", "of", "a", "blue-green", "square"]


def test_the_caption_metric_is_cider_d_on_coco_words():
    refs = {k: [r + " ." for r in v] for k, v in REFS.items()}
    preds = {k: c + " ." for k, c in CANDS.items()}
    words = CiderD([r.split() for r in rs] for rs in REFS.values())
    expected = words.corpus_score([CANDS[k].split() for k in REFS],
                                  [[r.split() for r in REFS[k]] for k in REFS])
    assert corpus_cider(preds, refs) == pytest.approx(expected, rel=1e-12)
    # Counting "." as a token (the old in-training figure) gives another number.
    dotted = CiderD([r.split() for r in rs] for rs in refs.values())
    assert dotted.corpus_score([preds[k].split() for k in REFS],
                               [[r.split() for r in refs[k]] for k in REFS]) != \
        pytest.approx(expected, rel=1e-3)
