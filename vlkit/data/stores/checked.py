"""Stores whose reads refuse what `vlkit data validate` reports.

Training and evaluation open their stores through these wrappers, so a record the validator
would report is refused with a DataError naming the store and the record, by the same checks
(`check_text_record`, `check_image_record`):
- text: token ids past the vocabulary, VQA answer labels past the answer vocabulary,
  non-finite numbers (datasets read every text record when they open, so the refusal comes
  before the first step);
- image (any format, UNITER img_db included): non-finite values, no regions, boxes outside
  [0, 1] or flipped, arrays whose rows do not match (checked as each record is read).
"""

from __future__ import annotations

from typing import Any

from vlkit.data.records import ImageRecord
from vlkit.data.stores.validate import (
    check_image_record,
    check_text_record,
    store_num_answers,
    store_vocab_size,
)
from vlkit.data.stores.view import StoreView
from vlkit.utils.errors import DataError


class CheckedTextStore(StoreView):
    """Wraps any text store (native, UNITER txt_db, concatenated); reads are checked."""

    def __init__(self, store: Any, vocab_size: int | None = None):
        self.store = store
        self.vocab_size = vocab_size if vocab_size is not None else store_vocab_size(store)
        self.num_answers = store_num_answers(store)

    def get(self, rid: str) -> dict:
        rec = self.store.get(rid)
        problems = check_text_record(rec, self.store.task, self.vocab_size,
                                     num_answers=self.num_answers)
        if problems:
            first = problems[0]
            raise DataError(f"{self.store.path}: record '{rid}': {first.field}: {first.what}; "
                            f"`vlkit data validate {self.store.path}` lists every problem")
        return rec

    def __getattr__(self, name: str) -> Any:
        # path, manifest, task, meta and format-specific fields (txt2img, id2len) as stored
        if name == "store":
            raise AttributeError(name)
        return getattr(self.store, name)


class CheckedImageStore(StoreView):
    """Wraps any image store; each record read is checked (feature sizes: the first read sets
    the dimension the others must match)."""

    def __init__(self, store: Any):
        self.store = store
        self._dims: dict[int, str] = {}

    def get(self, image_id: str) -> ImageRecord:
        rec = self.store.get(image_id)
        problems = check_image_record(rec, self._dims)
        if problems:
            first = problems[0]
            raise DataError(f"{self.store.path}: record '{image_id}': {first.field}: "
                            f"{first.what}; `vlkit data validate {self.store.path}` lists "
                            "every problem")
        return rec

    def __getattr__(self, name: str) -> Any:
        # path, feat_dim, manifest and format-specific fields as stored
        if name == "store":
            raise AttributeError(name)
        return getattr(self.store, name)
