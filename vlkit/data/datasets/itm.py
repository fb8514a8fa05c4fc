"""Image-text matching: each epoch, a share of the pairs gets a random other image (label 0).

As UNITER's ItmDataset, the labels and negative images are drawn once per epoch
(`set_epoch`), so the token bucket sees the lengths of the pairs actually used. The draws
come from a generator keyed by (seed, epoch): every worker and every resumed run agrees.
A negative image is uniform over the other distinct images (never the pair's own).
"""

from __future__ import annotations

import torch

from vlkit.data.datasets.pair import PairDataset
from vlkit.data.examples import ItmExample
from vlkit.data.rng import make_generator
from vlkit.utils.errors import ConfigError, DataError

_ITM_STREAM = 17  # separates this stream from other draws keyed by (seed, epoch)


class ItmDataset:
    """Wraps a PairDataset; its `ItmExample`s add itm_target (1 matched, 0 negative).

    neg_prob: probability that a pair is replaced by a negative (UNITER: 0.5).
    """

    def __init__(self, pairs: PairDataset, neg_prob: float = 0.5, seed: int = 0):
        if not 0.0 <= neg_prob <= 1.0:
            raise ConfigError(f"itm neg_prob must be in [0, 1], got {neg_prob}")
        self.pairs = pairs
        self.neg_prob = neg_prob
        self.seed = seed
        self.all_imgs = pairs.image_ids()
        if neg_prob > 0 and len(self.all_imgs) < 2:
            raise DataError(f"{pairs.txt_store.path}: ITM negatives need at least 2 distinct "
                            f"images, found {len(self.all_imgs)}")
        img_pos = {img: k for k, img in enumerate(self.all_imgs)}
        self._gt = torch.tensor([img_pos[rec["img_id"]] for rec in pairs.records])
        self._nbb = [pairs.num_boxes(img) for img in self.all_imgs]
        self._draws: tuple[int, torch.Tensor, torch.Tensor] | None = None
        self.set_epoch(0)

    def draws(self, epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(labels (n,) int64, image index (n,) into all_imgs) of `epoch`; pure, cached."""
        if self._draws is None or self._draws[0] != epoch:
            gen = make_generator(self.seed, epoch, _ITM_STREAM)
            n = len(self._gt)
            labels = (torch.rand(n, generator=gen) >= self.neg_prob).long()
            other = torch.randint(0, max(len(self.all_imgs) - 1, 1), (n,), generator=gen)
            other = other + (other >= self._gt).long()  # skip the ground-truth image
            self._draws = (epoch, labels, torch.where(labels.bool(), self._gt, other))
        return self._draws[1], self._draws[2]

    def lengths(self, epoch: int) -> list[int]:
        """Joint lengths of `epoch`'s pairs (a negative brings its own region count)."""
        _, img_idx = self.draws(epoch)
        nbb = torch.tensor(self._nbb)
        txt = torch.tensor(self.pairs.lens) - nbb[self._gt]
        return (txt + nbb[img_idx]).tolist()

    def set_epoch(self, epoch: int) -> None:
        """Use `epoch`'s labels and negatives in `__getitem__`."""
        self.epoch = epoch
        self.labels, self.img_idx = self.draws(epoch)
        self.lens = self.lengths(epoch)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int) -> ItmExample:
        pair = self.pairs.example(i, self.all_imgs[int(self.img_idx[i])])
        return ItmExample(pair=pair, itm_target=int(self.labels[i]))
