"""CIDEr-D over token sequences (any hashable tokens: words or WordPiece ids).

The formula of pycocoevalcap's `Cider` (which is CIDEr-D): n-grams n = 1..4; each sentence
becomes per-n tf-idf vectors tf * (log N - log max(1, df)) where N is the number of reference
sets in the document-frequency corpus and df the number of those sets containing the n-gram;
the candidate's clipped vector min(c, r) is compared with each reference by cosine, times a
Gaussian length penalty exp(-(l_c - l_r)^2 / (2 * 6^2)) (l = the sentence's bigram count, as
in the reference code); scores average over n and references, times 10.

Two uses, one formula:
- `corpus_cider(predictions, references)`: the caption metric. Text is split into words as
  COCO's evaluation does (lower case, punctuation such as "." and "," dropped: `coco_words`)
  and the document frequencies come from the references of the scored images, as
  pycocoevalcap's `Cider` computes them. This is what validation (`cider`) and the final
  evaluation (`cider` in final_metrics.json) report, and it equals `vlkit score caption`'s
  `CIDEr` whenever the PTB tokenizer splits words at spaces and punctuation (always on the
  synthetic world; a contraction such as "don't" is one word here and two there).
- `CiderD(corpus).score(token_ids, reference_ids)`: the SCST reward, on token ids with the
  document frequencies of every training reference; it is not reported as a metric (its "."
  tokens and sub-words give other values than the metric).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence

Tokens = Sequence[Hashable]
MAX_N = 4
SIGMA = 6.0
# The tokens pycocoevalcap's PTBTokenizer drops after tokenising (its PUNCTUATIONS list).
COCO_PUNCTUATION = frozenset({"''", "'", "``", "`", "-lrb-", "-rrb-", "-lcb-", "-rcb-", ".",
                              "?", "!", ",", ":", "-", "--", "...", ";"})
_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*|\S")


def coco_words(text: str) -> list[str]:
    """Lower-cased words with COCO's punctuation tokens dropped ("a red circle ." ->
    ["a", "red", "circle"]); brackets count as punctuation as PTB's -LRB- etc. do."""
    words = _WORD.findall(text.lower())
    return [w for w in words if w not in COCO_PUNCTUATION and w not in "()[]{}"]


def corpus_cider(predictions: dict[str, str], references: dict[str, list[str]]) -> float:
    """CIDEr-D of caption texts {image id: caption} against {image id: reference captions},
    on `coco_words`, document frequencies from the references of the predicted images (what
    `vlkit score caption` reports as CIDEr)."""
    ids = list(predictions)
    refs = [[coco_words(r) for r in references[i]] for i in ids]
    scorer = CiderD(refs)
    return scorer.corpus_score([coco_words(predictions[i]) for i in ids], refs)


def ngram_counts(tokens: Tokens, max_n: int = MAX_N) -> Counter:
    """Counts of every n-gram (as tuples), n = 1..max_n."""
    toks = tuple(tokens)
    return Counter(toks[i:i + n] for n in range(1, max_n + 1) for i in range(len(toks) - n + 1))


class CiderD:
    """CIDEr-D scorer with document frequencies from `corpus` (one list of references per
    image); `score(candidate, references)` -> float."""

    def __init__(self, corpus: Iterable[Sequence[Tokens]], sigma: float = SIGMA):
        self.df: Counter = Counter()
        num_sets = 0
        for refs in corpus:
            num_sets += 1
            self.df.update({g for ref in refs for g in ngram_counts(ref)})
        if num_sets == 0:
            raise ValueError("CIDEr-D needs a non-empty reference corpus")
        self.log_n = math.log(float(num_sets))
        self.sigma = sigma

    def _vector(self, tokens: Tokens) -> tuple[list[dict], list[float], int]:
        vec: list[dict] = [{} for _ in range(MAX_N)]
        norm = [0.0] * MAX_N
        length = 0
        for gram, tf in ngram_counts(tokens).items():
            n = len(gram) - 1
            value = tf * (self.log_n - math.log(max(1.0, self.df.get(gram, 0.0))))
            vec[n][gram] = value
            norm[n] += value * value
            if n == 1:
                length += tf
        return vec, [math.sqrt(x) for x in norm], length

    def _sim(self, cand: tuple, ref: tuple) -> list[float]:
        (vc, nc, lc), (vr, nr, lr) = cand, ref
        penalty = math.exp(-((lc - lr) ** 2) / (2 * self.sigma ** 2))
        out = []
        for n in range(MAX_N):
            val = sum(min(v, vr[n].get(g, 0.0)) * vr[n].get(g, 0.0) for g, v in vc[n].items())
            if nc[n] != 0 and nr[n] != 0:
                val /= nc[n] * nr[n]
            out.append(val * penalty)
        return out

    def score(self, candidate: Tokens, references: Sequence[Tokens]) -> float:
        """CIDEr-D of one candidate against its references."""
        if not references:
            raise ValueError("CIDEr-D needs at least one reference")
        cand = self._vector(candidate)
        total = [0.0] * MAX_N
        for ref in references:
            for n, v in enumerate(self._sim(cand, self._vector(ref))):
                total[n] += v
        return sum(total) / MAX_N / len(references) * 10.0

    def corpus_score(self, candidates: Sequence[Tokens],
                     references: Sequence[Sequence[Tokens]]) -> float:
        """Mean CIDEr-D over aligned candidates and reference lists."""
        scores = [self.score(c, r) for c, r in zip(candidates, references, strict=True)]
        return sum(scores) / max(len(scores), 1)
