"""Text-image pairs: the base every single-image task dataset builds on.

An example is a `PairExample` (`vlkit.data.examples`): the record's id, input_ids (T,) int64
with [CLS] ... [SEP], T <= max_txt_len, and its image's regions as the store gives them
(img_feat (N, D) fp16 memmap view, collate makes float32; img_pos_feat (N, 7); soft labels).
The store decides N (its confidence-threshold / min / max box rule); this class never cuts
regions. Texts longer than max_txt_len are truncated (UNITER drops them instead; truncation
keeps every record of a store usable).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import torch

from vlkit.data.examples import ImageRegions, PairExample
from vlkit.data.records import JOIN, ImageRecord
from vlkit.utils.errors import DataError


class ImageSource(Protocol):
    """What a dataset needs from an image store (native or UNITER-format)."""

    path: object

    def get(self, image_id: str) -> ImageRecord: ...
    def num_boxes(self, image_id: str) -> int: ...
    def __contains__(self, image_id: str) -> bool: ...


class TextSource(Protocol):
    """What a dataset needs from a text store."""

    path: object
    manifest: dict

    def ids(self) -> list[str]: ...
    def get(self, rid: str) -> dict: ...


class JoinedImage:
    """Images read as one, their regions concatenated in order (UNITER's VCR: the gt img_db's
    annotated objects, then the detected boxes of the other img_db). Soft labels are kept
    when every part has them (of one size); other per-region arrays are dropped."""

    def __init__(self, parts: Sequence[tuple[ImageSource, str]], image_id: str):
        self.parts = list(parts)
        self.image_id = image_id
        self.path = " + ".join(str(store.path) for store, _ in self.parts)

    def __contains__(self, image_id: str) -> bool:
        return image_id == self.image_id

    def num_boxes(self, image_id: str) -> int:
        return sum(store.num_boxes(part) for store, part in self.parts)

    def get(self, image_id: str) -> ImageRecord:
        recs = [store.get(part) for store, part in self.parts]
        soft = [r.soft_labels for r in recs]
        joined_soft = None
        if all(s is not None for s in soft) and len({s.shape[1] for s in soft}) == 1:
            joined_soft = np.concatenate(soft)
        return ImageRecord(id=image_id, feat=np.concatenate([r.feat for r in recs]),
                           boxes=np.concatenate([r.boxes for r in recs]),
                           soft_labels=joined_soft, extras={})


class ImageLookup:
    """Several image stores searched in order (the first holding an id wins), remembering
    which store holds each image id; a missing id names the text store, record and image.
    An id "a+b" that no store holds is the JoinedImage of a and b."""

    def __init__(self, img_stores: Sequence[ImageSource], txt_path: object):
        self.stores = list(img_stores)
        self.txt_path = txt_path
        self._store_of: dict[str, int] = {}
        self._joined: dict[str, JoinedImage] = {}

    def store(self, img_id: str, rid: str = "?") -> ImageSource:
        idx = self._store_of.get(img_id)
        if idx is None:
            idx = next((k for k, s in enumerate(self.stores) if img_id in s), None)
            if idx is None and JOIN in img_id:
                return self._join(img_id, rid)
            if idx is None:
                paths = ", ".join(str(s.path) for s in self.stores)
                hint = (f" (they hold '{img_id}.npz': UNITER's img_db keys are file names)"
                        if any(f"{img_id}.npz" in s for s in self.stores) else "")
                raise DataError(f"{self.txt_path}: record '{rid}' names image "
                                f"'{img_id}', which is in none of the image stores "
                                f"({paths}){hint}")
            self._store_of[img_id] = idx
        return self.stores[idx]

    def _join(self, img_id: str, rid: str) -> JoinedImage:
        if img_id not in self._joined:
            parts = [(self.store(part, rid), part) for part in img_id.split(JOIN)]
            self._joined[img_id] = JoinedImage(parts, img_id)
        return self._joined[img_id]


def special_ids(txt_store: TextSource) -> tuple[int, int]:
    """([CLS], [SEP]) ids of the vocabulary the text store was tokenised with: the store's
    own "special_ids" when it states them (a UNITER txt_db's meta.json), else its vocabulary's."""
    from vlkit.text.tokenizer import get_tokenizer

    stated = txt_store.manifest.get("special_ids")
    if stated:
        return stated["cls"], stated["sep"]

    tok = get_tokenizer(txt_store.manifest.get("vocab", "bert-base-uncased"))
    return tok.cls_id, tok.sep_id


class PairDataset:
    """One example per text record, paired with the image its `img_id` names.

    img_stores: one store or several (e.g. COCO + Visual Genome); the first holding an id wins.
    lens: (per example) text length with [CLS]/[SEP] + region count, for the token bucket.
    """

    def __init__(self, txt_store: TextSource, img_stores: ImageSource | Sequence[ImageSource],
                 max_txt_len: int = 60, cls_sep: tuple[int, int] | None = None,
                 ids: Sequence[str] | None = None):
        if max_txt_len < 3:
            raise DataError(f"max_txt_len must be >= 3 ([CLS] w [SEP]), got {max_txt_len}")
        self.txt_store = txt_store
        self.img_stores = list(img_stores) if isinstance(img_stores, list | tuple) else [img_stores]
        self.max_txt_len = max_txt_len
        self.cls_id, self.sep_id = cls_sep if cls_sep is not None else special_ids(txt_store)
        self.ids = list(ids) if ids is not None else txt_store.ids()
        self.records = [self._validate(txt_store.get(rid)) for rid in self.ids]
        self._images = ImageLookup(self.img_stores, txt_store.path)
        for rec in self.records:
            self._images.store(rec["img_id"], rec["id"])
        self.lens = [self.txt_len(rec) + self.num_boxes(rec["img_id"]) for rec in self.records]

    def _validate(self, rec: dict) -> dict:
        where = f"{self.txt_store.path}: record '{rec.get('id')}'"
        if "img_id" not in rec:
            got = "'img_ids' (an image pair)" if "img_ids" in rec else "no image"
            raise DataError(f"{where}: expected a string 'img_id', got {got}")
        ids = rec.get("input_ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(t, int) for t in ids):
            raise DataError(f"{where}: field 'input_ids' must be a non-empty list of ints")
        return rec

    def txt_len(self, rec: dict) -> int:
        return min(len(rec["input_ids"]), self.max_txt_len - 2) + 2

    def num_boxes(self, img_id: str) -> int:
        return self._images.store(img_id).num_boxes(img_id)

    def image_ids(self) -> list[str]:
        """Distinct image ids, in order of first use."""
        return list(dict.fromkeys(rec["img_id"] for rec in self.records))

    def input_ids(self, rec: dict) -> torch.Tensor:
        """(T,) int64: [CLS] + ids truncated to max_txt_len - 2 + [SEP]."""
        body = rec["input_ids"][: self.max_txt_len - 2]
        return torch.tensor([self.cls_id, *body, self.sep_id], dtype=torch.long)

    def image(self, img_id: str) -> ImageRegions:
        """The regions of image `img_id`, from the first store holding it."""
        img = self._images.store(img_id).get(img_id)
        return ImageRegions(img_id=img_id, img_feat=img.feat, img_pos_feat=img.boxes,
                            img_soft_labels=img.soft_labels)

    def example(self, i: int, img_id: str | None = None) -> PairExample:
        """Example i, optionally paired with another image (ITM negatives)."""
        rec = self.records[i]
        return PairExample.of(rec["id"], self.input_ids(rec),
                              self.image(img_id if img_id is not None else rec["img_id"]))

    def lengths(self, epoch: int) -> list[int]:
        """Joint lengths for the token bucket (the same every epoch)."""
        return self.lens

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> PairExample:
        return self.example(i)
