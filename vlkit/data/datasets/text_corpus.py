"""A text-only corpus: plain-text files, one sentence per line (VL-BERT mixes BooksCorpus and
English Wikipedia into pre-training so the model keeps BERT's language ability).

An example is a `TextExample`: id "<file>:<line>", input_ids (T,) int64 [CLS] ... [SEP]
(T <= max_len; longer lines are truncated). Blank lines are skipped. Lines are tokenised
once, at open.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from vlkit.data.examples import TextExample
from vlkit.utils.errors import DataError


class TextCorpus:
    """Sentences of plain-text files, tokenised by `tokenizer` (vlkit.text BertTokenizer)."""

    def __init__(self, paths: Sequence[str | Path], tokenizer, max_len: int = 64):
        if max_len < 3:
            raise DataError(f"text corpus: max_len must be >= 3 ([CLS] w [SEP]), got {max_len}")
        if not paths:
            raise DataError("text corpus: no files named")
        self.cls_id, self.sep_id = tokenizer.cls_id, tokenizer.sep_id
        self.ids: list[str] = []
        self.tokens: list[list[int]] = []
        for path in map(Path, paths):
            if not path.is_file():
                raise DataError(f"text corpus file {path} does not exist (expected a plain-text "
                                "file, one sentence per line)")
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except UnicodeDecodeError as err:
                raise DataError(f"text corpus file {path}: not UTF-8 text ({err})") from err
            kept = [(n, line) for n, line in enumerate(lines, 1) if line.strip()]
            encoded = tokenizer.encode_batch([line for _, line in kept])
            for (n, _), ids in zip(kept, encoded, strict=True):
                if ids:
                    self.ids.append(f"{path.name}:{n}")
                    self.tokens.append(ids[: max_len - 2])
        if not self.tokens:
            raise DataError(f"text corpus {', '.join(map(str, paths))}: no non-empty lines")
        self.lens = [len(t) + 2 for t in self.tokens]

    def lengths(self, epoch: int) -> list[int]:
        return self.lens

    def __len__(self) -> int:
        return len(self.tokens)

    def __getitem__(self, i: int) -> TextExample:
        ids = torch.tensor([self.cls_id, *self.tokens[i], self.sep_id], dtype=torch.long)
        return TextExample(id=self.ids[i], input_ids=ids)
