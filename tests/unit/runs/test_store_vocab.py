"""A text store's ids only mean something with the vocabulary it was tokenised with."""

from __future__ import annotations

import pytest

from vlkit.config import load_config
from vlkit.data.stores.native_txt import NativeTextStoreWriter
from vlkit.runs.stores import open_text_store
from vlkit.text.tokenizer import get_tokenizer
from vlkit.utils.errors import ConfigError


def _store(root, vocab: str) -> None:
    with NativeTextStoreWriter(root / "txt" / "caption_train", "caption", vocab) as writer:
        writer.add({"id": "0", "text": "a red circle", "img_id": "img0",
                    "input_ids": get_tokenizer(vocab).encode("a red circle")})


def test_a_store_read_with_another_vocabulary_is_refused_naming_it(tmp_path):
    _store(tmp_path, "synthetic-world")
    cfg = load_config("uniter-base-pretrain", [f"data.root={tmp_path}"])
    with pytest.raises(ConfigError, match=r"caption_train: tokenised with the vocabulary "
                                          r"'synthetic-world'.*text.vocab=synthetic-world"):
        open_text_store(cfg, ["txt/caption_train"])
    cfg = load_config("uniter-tiny-pretrain", [f"data.root={tmp_path}"])
    assert len(open_text_store(cfg, ["txt/caption_train"])) == 1


def test_the_same_vocabulary_by_name_or_by_path_is_accepted(tmp_path):
    _store(tmp_path, "bert-base-uncased")
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(get_tokenizer("bert-base-uncased").ids_to_tokens) + "\n")
    cfg = load_config("uniter-base-pretrain", [f"data.root={tmp_path}", f"text.vocab={path}"])
    assert len(open_text_store(cfg, "txt/caption_train")) == 1


def test_random_replacement_ranges():
    assert get_tokenizer("bert-base-uncased").random_range == (999, 30522)  # UNITER's
    world = get_tokenizer("synthetic-world")
    assert world.random_range == (5, 84)
    assert world.ids_to_tokens[4] == "[MASK]" and len(world) == 84
