"""Captioning: one example per image, its references attached (decoding, CIDEr-D, SCST).

Caption training examples are ordinary `PairDataset` examples (one per caption). Decoding and
SCST need one example per image with every reference caption of that image: a
`CaptionExample` whose pair is [CLS] (input_ids (1,)) with the image's regions (id = img_id)
and whose refs are the image's captions (token ids, no [CLS]/[SEP]).
"""

from __future__ import annotations

import torch

from vlkit.data.datasets.pair import PairDataset
from vlkit.data.examples import CaptionExample, PairExample


class ImageCaptionDataset:
    """Images of a caption text store (order of first use) with their reference captions."""

    def __init__(self, pairs: PairDataset, limit: int = 0):
        self.pairs = pairs
        refs: dict[str, list[list[int]]] = {}
        for rec in pairs.records:
            refs.setdefault(rec["img_id"], []).append(
                list(rec["input_ids"][: pairs.max_txt_len - 2]))
        self.img_ids = list(refs)[:limit] if limit else list(refs)
        self.refs = refs
        self.lens = [1 + pairs.num_boxes(i) for i in self.img_ids]

    def references(self) -> dict[str, list[list[int]]]:
        """{img_id: reference token id lists} of the images in this dataset."""
        return {i: self.refs[i] for i in self.img_ids}

    def lengths(self, epoch: int) -> list[int]:
        return self.lens

    def __len__(self) -> int:
        return len(self.img_ids)

    def __getitem__(self, i: int) -> CaptionExample:
        img_id = self.img_ids[i]
        cls = torch.tensor([self.pairs.cls_id], dtype=torch.long)
        return CaptionExample(pair=PairExample.of(img_id, cls, self.pairs.image(img_id)),
                              refs=self.refs[img_id])
