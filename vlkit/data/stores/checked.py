"""A text store whose reads refuse what `vlkit data validate` reports.

Training and evaluation open their text stores through `CheckedTextStore`, so a record with
token ids past the vocabulary, VQA answer labels past the answer vocabulary or non-finite
numbers is refused with a DataError naming the store and the record, by the same checks
(`check_text_record`) the validator runs. Datasets read every record when they open, so the
refusal comes before the first step.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from vlkit.data.stores.validate import check_text_record, store_num_answers, store_vocab_size
from vlkit.utils.errors import DataError


class CheckedTextStore:
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

    def ids(self) -> list[str]:
        return self.store.ids()

    def __len__(self) -> int:
        return len(self.store)

    def __contains__(self, rid: str) -> bool:
        return rid in self.store

    def __iter__(self) -> Iterator[dict]:
        for rid in self.store.ids():
            yield self.get(rid)

    def __getattr__(self, name: str) -> Any:
        # path, manifest, task, meta and format-specific fields (txt2img, id2len) as stored
        if name == "store":
            raise AttributeError(name)
        return getattr(self.store, name)
