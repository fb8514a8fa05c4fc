"""Whole-word masking: a word's pieces share one fate; word rate and 80/10/10 split; single-piece
words reproduce token masking; "##" detection from a vocabulary."""

from __future__ import annotations

import torch

from vlkit.data.examples import TextExample, TextMlmExample
from vlkit.data.masking import MlmMasker, WholeWordMasker, continuation_ids
from vlkit.text.tokenizer import get_tokenizer

CLS, SEP, MASK = 101, 102, 103
CONT = list(range(5000, 5100))  # pretend "##" pieces


def _base(**kw) -> MlmMasker:
    return MlmMasker(mask_id=MASK, vocab_range=(999, 30522), protected_ids=(0, CLS, SEP), **kw)


def _words(n: int, gen: torch.Generator) -> tuple[torch.Tensor, list[list[int]]]:
    """[CLS] + n words of 1-3 pieces (first piece 2000-2999, then "##" pieces) + [SEP]."""
    spans, ids = [], [CLS]
    for _ in range(n):
        k = int(torch.randint(1, 4, (1,), generator=gen))
        start = len(ids)
        ids.append(int(torch.randint(2000, 3000, (1,), generator=gen)))
        ids += [int(x) for x in torch.randint(5000, 5100, (k - 1,), generator=gen)]
        spans.append(list(range(start, len(ids))))
    ids.append(SEP)
    return torch.tensor(ids), spans


def test_pieces_of_a_word_share_their_fate_and_rates_hold():
    masker = WholeWordMasker(_base(), CONT)
    gen = torch.Generator().manual_seed(0)
    words = chosen = as_mask = as_keep = 0
    for _ in range(300):
        ids, spans = _words(30, gen)
        out, labels = masker.mask_many([ids], gen)[0]
        assert labels[0] == -1 and labels[-1] == -1
        for span in spans:
            sel = labels[span] != -1
            assert sel.all() or not sel.any()  # all pieces or none
            words += 1
            if sel.all():
                chosen += 1
                assert torch.equal(labels[span], ids[span])
                fates = {"mask" if o == MASK else "keep" if o == i else "random"
                         for o, i in zip(out[span].tolist(), ids[span].tolist(), strict=True)}
                assert len(fates) == 1, fates
                as_mask += fates == {"mask"}
                as_keep += fates == {"keep"}
            else:
                assert torch.equal(out[span], ids[span])
    assert abs(chosen / words - 0.15) < 0.015
    assert abs(as_mask / chosen - 0.8) < 0.04 and abs(as_keep / chosen - 0.1) < 0.03


def test_single_piece_words_choose_like_token_masking():
    gen_a, gen_b = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    seqs = [torch.tensor([CLS, *range(2000, 2000 + n), SEP]) for n in (5, 17, 9)]
    tokens = _base().mask_many(seqs, gen_a)
    words = WholeWordMasker(_base(), CONT).mask_many(seqs, gen_b)
    for (t_out, t_lab), (w_out, w_lab) in zip(tokens, words, strict=True):
        assert torch.equal(t_lab, w_lab)
        assert torch.equal(t_out == MASK, w_out == MASK)


def test_every_example_gets_a_masked_word_and_examples_typed():
    masker = WholeWordMasker(_base(mask_prob=0.01), CONT)
    examples = [TextExample(id=str(i), input_ids=torch.tensor([CLS, 2001, 5001, 5002, 2002, SEP]))
                for i in range(20)]
    out = masker(examples, torch.Generator().manual_seed(0))
    assert all(type(ex) is TextMlmExample and ex.text.id == str(i) for i, ex in enumerate(out))
    for ex in out:
        sel = ex.txt_labels != -1
        assert sel.any()
        assert sel[1:4].all() or not sel[1:4].any()


def test_continuation_ids_from_the_shipped_vocabulary():
    tok = get_tokenizer("bert-base-uncased")
    cont = set(continuation_ids(tok.ids_to_tokens))
    pieces = tok.tokenize("unaffable embeddings")
    ids = tok.encode("unaffable embeddings")
    assert any(p.startswith("##") for p in pieces)
    assert [i in cont for i in ids] == [p.startswith("##") for p in pieces]
