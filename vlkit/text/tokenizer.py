"""BERT WordPiece tokenizer over any vocab.txt, via the `tokenizers` library.

The bert-base-uncased vocabulary (30,522 tokens; [CLS]=101 [SEP]=102 [MASK]=103) ships with
the package so that nothing is downloaded, and so does the synthetic world's own small one. A
cased vocabulary works by path.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from tokenizers import Tokenizer
from tokenizers.models import WordPiece
from tokenizers.normalizers import BertNormalizer
from tokenizers.pre_tokenizers import BertPreTokenizer

from vlkit.utils.errors import ConfigError

RANDOM_TOKEN_START = 999  # UNITER's first random MLM replacement id (BERT vocabularies)
# "synthetic-world": the embedded synthetic world's closed vocabulary (5 specials + 79 whole
# words), so that the tiny models trained on it carry an 84-row word embedding instead of
# BERT's 30,522 rows (about a quarter of a tiny training step went to that table's gradient
# and optimizer update).
SHIPPED_VOCABS = {"bert-base-uncased": "bert-base-uncased.txt",
                  "synthetic-world": "synthetic-world.txt"}


def resolve_vocab(vocab: str) -> Path:
    """Path of a shipped vocabulary name or of a user's vocab.txt."""
    if vocab in SHIPPED_VOCABS:
        return Path(str(resources.files("vlkit") / "text" / "vocab" / SHIPPED_VOCABS[vocab]))
    path = Path(vocab)
    if path.is_dir():
        path = path / "vocab.txt"
    if not path.is_file():
        raise ConfigError(f"text.vocab: {vocab} is neither a shipped vocabulary "
                          f"({', '.join(SHIPPED_VOCABS)}) nor an existing vocab.txt")
    return path


class BertTokenizer:
    """Text -> WordPiece ids without special tokens; special ids exposed as attributes."""

    def __init__(self, vocab: str = "bert-base-uncased", lowercase: bool | None = None):
        path = resolve_vocab(vocab)
        tokens = path.read_text(encoding="utf-8").splitlines()
        self.vocab = {tok: i for i, tok in enumerate(tokens)}
        missing = [t for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]") if t not in self.vocab]
        if missing:
            raise ConfigError(f"{path}: vocabulary lacks special tokens {missing}")
        if lowercase is None:
            lowercase = vocab == "bert-base-uncased" or not any(t[:1].isupper() for t in tokens)
        self.lowercase = lowercase
        model = WordPiece(self.vocab, unk_token="[UNK]", max_input_chars_per_word=100)
        self._tok = Tokenizer(model)
        self._tok.normalizer = BertNormalizer(
            clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=lowercase
        )
        self._tok.pre_tokenizer = BertPreTokenizer()
        self.ids_to_tokens = tokens
        self.pad_id = self.vocab["[PAD]"]
        self.unk_id = self.vocab["[UNK]"]
        self.cls_id = self.vocab["[CLS]"]
        self.sep_id = self.vocab["[SEP]"]
        self.mask_id = self.vocab["[MASK]"]

    def __len__(self) -> int:
        return len(self.ids_to_tokens)

    @property
    def random_range(self) -> tuple[int, int]:
        """[lo, hi) of MLM's random replacement ids. UNITER draws from [999, V), above BERT's
        [unused*] block; a vocabulary of at most 999 tokens (the synthetic world's) draws from
        the tokens after its leading [..] specials."""
        if len(self) > RANDOM_TOKEN_START:
            return RANDOM_TOKEN_START, len(self)
        lo = next((i for i, t in enumerate(self.ids_to_tokens)
                   if not (t.startswith("[") and t.endswith("]"))), len(self) - 1)
        return lo, len(self)

    def encode(self, text: str) -> list[int]:
        """WordPiece ids of `text` (no [CLS]/[SEP])."""
        return self._tok.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self._tok.encode_batch(texts, add_special_tokens=False)]

    def tokenize(self, text: str) -> list[str]:
        return self._tok.encode(text, add_special_tokens=False).tokens

    def unknown_words(self, text: str) -> list[str]:
        """The words of `text` (as written) that the vocabulary can only read as [UNK], in
        order, without repeats."""
        enc = self._tok.encode(text, add_special_tokens=False)
        words = [text[start:end] for tok, (start, end) in zip(enc.tokens, enc.offsets,
                                                                strict=True)
                 if tok == "[UNK]"]
        return list(dict.fromkeys(words))

    def convert_ids_to_tokens(self, ids: list[int]) -> list[str]:
        return [self.ids_to_tokens[i] for i in ids]

    def decode(self, ids: list[int]) -> str:
        """Ids -> text, joining '##' pieces and dropping special tokens."""
        special = {self.pad_id, self.cls_id, self.sep_id, self.mask_id}
        words: list[str] = []
        for tok in self.convert_ids_to_tokens([i for i in ids if i not in special]):
            if tok.startswith("##") and words:
                words[-1] += tok[2:]
            else:
                words.append(tok)
        return " ".join(words)


@lru_cache(maxsize=8)
def get_tokenizer(vocab: str = "bert-base-uncased", lowercase: bool | None = None) -> BertTokenizer:
    """Cached tokenizer per (vocab, lowercase)."""
    return BertTokenizer(vocab, lowercase)
