from __future__ import annotations

import pytest

from vlkit.text.tokenizer import BertTokenizer, get_tokenizer
from vlkit.utils.errors import ConfigError


def test_shipped_uncased_vocab_special_ids():
    tok = get_tokenizer()
    assert len(tok) == 30522
    assert (tok.cls_id, tok.sep_id, tok.mask_id, tok.pad_id) == (101, 102, 103, 0)


def test_wordpiece_and_lowercasing():
    tok = get_tokenizer()
    assert tok.tokenize("Unaffable Héllo!") == ["una", "##ffa", "##ble", "hello", "!"]
    assert tok.decode(tok.encode("the red cube")) == "the red cube"


def test_matches_transformers_bert_tokenizer():
    transformers = pytest.importorskip("transformers",
                                       reason='pip install -e ".[dev]" (transformers)')
    from vlkit.text.tokenizer import resolve_vocab

    ref = transformers.BertTokenizerFast(str(resolve_vocab("bert-base-uncased")))
    texts = ["Is the big blue sphere left of the cube?", "naïve café, it's 3.5m", "東京 tab\there"]
    for text in texts:
        assert ref(text, add_special_tokens=False).input_ids == get_tokenizer().encode(text)


def test_cased_vocab_by_path(tmp_path):
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "Red", "red", "cube", "##s"]
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(vocab) + "\n")
    tok = BertTokenizer(str(path))
    assert tok.lowercase is False
    assert tok.convert_ids_to_tokens(tok.encode("Red red cubes")) == ["Red", "red", "cube", "##s"]
    assert BertTokenizer(str(tmp_path)).cls_id == 2


def test_bad_vocab_errors(tmp_path):
    with pytest.raises(ConfigError, match="neither a shipped"):
        BertTokenizer(str(tmp_path / "nope.txt"))
    path = tmp_path / "v.txt"
    path.write_text("a\nb\n")
    with pytest.raises(ConfigError, match="special tokens"):
        BertTokenizer(str(path))
