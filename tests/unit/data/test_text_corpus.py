"""Text-only corpus: plain-text files -> [CLS] ids [SEP] examples; errors name the file; the
generated synthetic corpus; text-only MLM batches."""

from __future__ import annotations

import pytest
import torch

from vlkit.data.collate.text import collate_text_mlm
from vlkit.data.datasets.text_corpus import TextCorpus
from vlkit.data.examples import TextExample, TextMlmExample
from vlkit.data.synthetic.corpus import corpus_sentences, write_corpus
from vlkit.text.tokenizer import get_tokenizer
from vlkit.utils.errors import DataError

TOK = get_tokenizer("bert-base-uncased")


def test_lines_become_examples_blank_lines_skipped_long_ones_cut(tmp_path):
    (tmp_path / "a.txt").write_text("a red circle .\n\n   \nthe cat sat on the mat\n")
    (tmp_path / "b.txt").write_text("one two three four five six seven\n")
    corpus = TextCorpus([tmp_path / "a.txt", tmp_path / "b.txt"], TOK, max_len=6)
    assert len(corpus) == 3 and corpus.ids == ["a.txt:1", "a.txt:4", "b.txt:1"]
    first = corpus[0].input_ids.tolist()
    assert first == [TOK.cls_id, *TOK.encode("a red circle ."), TOK.sep_id]
    last = corpus[2].input_ids.tolist()
    assert last == [TOK.cls_id, *TOK.encode("one two three four"), TOK.sep_id]
    assert corpus.lengths(0) == [6, 6, 6]


def test_missing_or_empty_corpus_names_the_file(tmp_path):
    with pytest.raises(DataError, match="nope.txt does not exist"):
        TextCorpus([tmp_path / "nope.txt"], TOK)
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(DataError, match="empty.txt: no non-empty lines"):
        TextCorpus([tmp_path / "empty.txt"], TOK)


def test_synthetic_corpus_is_seeded_and_in_the_world_vocabulary(tmp_path):
    lines = corpus_sentences(10, seed=3)
    assert len(lines) == 10 and lines == corpus_sentences(10, seed=3)
    assert lines != corpus_sentences(10, seed=4)
    assert all(TOK.unk_id not in TOK.encode(s) for s in lines)
    path = write_corpus(tmp_path / "c.txt", 7, seed=3)
    assert path.read_text().splitlines() == lines[:7]


def test_collate_text_mlm_pads_ids_and_labels():
    examples = [TextMlmExample(text=TextExample(id="a", input_ids=torch.tensor([101, 5, 103, 102])),
                               txt_labels=torch.tensor([-1, -1, 7, -1])),
                TextMlmExample(text=TextExample(id="b", input_ids=torch.tensor([101, 9, 102])),
                               txt_labels=torch.tensor([-1, 9, -1]))]
    batch = collate_text_mlm(examples)
    assert batch.input_ids.tolist() == [[101, 5, 103, 102], [101, 9, 102, 0]]
    assert batch.txt_labels.tolist() == [[-1, -1, 7, -1], [-1, 9, -1, -1]]
    assert batch.txt_lens.tolist() == [4, 3] and batch.size == 2 and batch.num_tokens == 7
    assert batch.task == "mlm-text" and batch.to("cpu").input_ids.shape == (2, 4)
