"""NLVR2: a sentence about a pair of images (left, right), label True/False.

An example is an `Nlvr2Example`: the record's id, input_ids (T,) int64 [CLS] ... [SEP],
imgs [left, right] `ImageRegions` (img_feat (N, D), img_pos_feat (N, 7); no soft labels) and
nlvr2_target 1 = True, 0 = False (-1 when the record has no label).
The collate of the chosen variant (`vlkit.data.collate.nlvr2`) lays the pair out.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from vlkit.data.datasets.pair import ImageLookup, ImageSource, TextSource, special_ids
from vlkit.data.examples import ImageRegions, Nlvr2Example
from vlkit.utils.errors import DataError


class Nlvr2Dataset:
    """One example per `nlvr2` text record (fields `img_ids` = [left, right], `label` 1/0).

    paired: lengths for the token bucket count the sentence twice (the paired variants encode
    it once per image), as UNITER's paired dataset does; else once (triplet).
    """

    def __init__(self, txt_store: TextSource, img_stores: ImageSource | Sequence[ImageSource],
                 max_txt_len: int = 60, paired: bool = True, ids: Sequence[str] | None = None):
        if max_txt_len < 3:
            raise DataError(f"max_txt_len must be >= 3 ([CLS] w [SEP]), got {max_txt_len}")
        self.txt_store = txt_store
        self.img_stores = list(img_stores) if isinstance(img_stores, list | tuple) else [img_stores]
        self.max_txt_len = max_txt_len
        self.cls_id, self.sep_id = special_ids(txt_store)
        self.ids = list(ids) if ids is not None else txt_store.ids()
        self.records = [self._validate(txt_store.get(rid)) for rid in self.ids]
        self._images = ImageLookup(self.img_stores, txt_store.path)
        copies = 2 if paired else 1
        self.lens = [copies * self._txt_len(rec) + sum(self._num_boxes(i, rec["id"])
                                                       for i in rec["img_ids"])
                     for rec in self.records]

    def _validate(self, rec: dict) -> dict:
        where = f"{self.txt_store.path}: record '{rec.get('id')}'"
        pair = rec.get("img_ids")
        if not isinstance(pair, list) or len(pair) != 2 or not all(isinstance(i, str)
                                                                    for i in pair):
            raise DataError(f"{where}: field 'img_ids' must be [left, right] image ids, "
                            f"got {pair!r}")
        ids = rec.get("input_ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(t, int) for t in ids):
            raise DataError(f"{where}: field 'input_ids' must be a non-empty list of ints")
        if rec.get("label", -1) not in (0, 1, -1, True, False):
            raise DataError(f"{where}: field 'label' must be 1 (True) or 0 (False), "
                            f"got {rec['label']!r}")
        return rec

    def _num_boxes(self, img_id: str, rid: str) -> int:
        return self._images.store(img_id, rid).num_boxes(img_id)

    def _txt_len(self, rec: dict) -> int:
        return min(len(rec["input_ids"]), self.max_txt_len - 2) + 2

    def labels(self) -> dict[str, bool]:
        """identifier -> label, for the labelled records (what the official metric scores)."""
        return {rec["id"]: bool(rec["label"]) for rec in self.records
                if rec.get("label", -1) != -1}

    def lengths(self, epoch: int) -> list[int]:
        return self.lens

    def __len__(self) -> int:
        return len(self.records)

    def _image(self, img_id: str, rid: str) -> ImageRegions:
        img = self._images.store(img_id, rid).get(img_id)
        return ImageRegions(img_id=img_id, img_feat=img.feat, img_pos_feat=img.boxes)

    def __getitem__(self, i: int) -> Nlvr2Example:
        rec = self.records[i]
        body = rec["input_ids"][: self.max_txt_len - 2]
        return Nlvr2Example(
            id=rec["id"],
            input_ids=torch.tensor([self.cls_id, *body, self.sep_id], dtype=torch.long),
            imgs=[self._image(img_id, rec["id"]) for img_id in rec["img_ids"]],
            nlvr2_target=int(rec.get("label", -1)))
