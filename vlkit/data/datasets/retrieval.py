"""Image-text ranking examples for retrieval fine-tuning (UNITER's ItmRankDataset).

Each text record gives one group: its matched pair first, then the text with `neg_size`
other images, then its image with `neg_size` texts of other images. Negatives are distinct
and never match (an image's own captions are never its negative texts). As everywhere in
the data layer, the draws are a pure function of (seed, epoch, example index), so workers,
ranks and resumed runs agree; `set_epoch` switches to the next epoch's draws.
"""

from __future__ import annotations

import torch

from vlkit.data.datasets.pair import PairDataset
from vlkit.data.examples import RankExample
from vlkit.data.rng import make_generator
from vlkit.utils.errors import ConfigError, DataError

_RANK_STREAM = 23  # separates these draws from other streams keyed by (seed, epoch)


class ItmRankDataset:
    """Wraps a PairDataset over a caption store; item i is a `RankExample` of
    1 + 2 * neg_size pairs.

    neg_size: negatives of each kind per positive (UNITER's `negative_size`).
    """

    def __init__(self, pairs: PairDataset, neg_size: int = 1, seed: int = 0):
        if neg_size < 1:
            raise ConfigError(f"config key 'task.neg_size' must be >= 1, got {neg_size}")
        self.pairs, self.neg_size, self.seed = pairs, neg_size, seed
        self.all_imgs = pairs.image_ids()
        img_pos = {img: k for k, img in enumerate(self.all_imgs)}
        self.gt = torch.tensor([img_pos[rec["img_id"]] for rec in pairs.records])  # (n,)
        counts = torch.bincount(self.gt, minlength=len(self.all_imgs))
        other_imgs, other_txts = len(self.all_imgs) - 1, len(self.gt) - int(counts.max())
        if neg_size > min(other_imgs, other_txts):
            raise DataError(f"{pairs.txt_store.path}: task.neg_size={neg_size} needs that many "
                            f"other images ({other_imgs} available) and texts of other "
                            f"images ({other_txts} available); lower task.neg_size")
        self.epoch = 0
        self.lens = [len_ * (1 + 2 * neg_size) for len_ in pairs.lens]

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def lengths(self, epoch: int) -> list[int]:
        """Approximate joint tokens of each group (its positive's length times the group size)."""
        return self.lens

    def negatives(self, i: int) -> tuple[list[int], list[int]]:
        """(image indices into all_imgs, text indices) of example i's negatives this epoch."""
        gen = make_generator(self.seed, self.epoch, _RANK_STREAM, i)
        gt = int(self.gt[i])
        imgs = torch.randperm(len(self.all_imgs) - 1, generator=gen)[: self.neg_size]
        imgs = imgs + (imgs >= gt).long()  # skip the ground-truth image
        return imgs.tolist(), self._negative_texts(gt, gen)

    def _negative_texts(self, gt: int, gen: torch.Generator) -> list[int]:
        n, want = len(self.gt), self.neg_size
        if n <= 4 * want:  # small pool: one permutation, keep the valid ones
            order = torch.randperm(n, generator=gen)
            return order[self.gt[order] != gt][:want].tolist()
        picked: dict[int, None] = {}
        while len(picked) < want:  # rejection sampling: O(neg_size) per example
            cand = torch.randint(0, n, (2 * want + 16,), generator=gen)
            for t in cand[self.gt[cand] != gt].tolist():
                picked.setdefault(t)
        return list(picked)[:want]

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int) -> RankExample:
        neg_imgs, neg_txts = self.negatives(i)
        img_id = self.pairs.records[i]["img_id"]
        group = [self.pairs.example(i)]
        group += [self.pairs.example(i, self.all_imgs[j]) for j in neg_imgs]
        group += [self.pairs.example(t, img_id) for t in neg_txts]
        return RankExample(pairs=group, num_img_neg=len(neg_imgs), num_txt_neg=len(neg_txts))
