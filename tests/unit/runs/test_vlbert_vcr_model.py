"""The VL-BERT VCR model starts from a pre-trained checkpoint with the choice token type
copied from the text type (VL-BERT's PARTIAL_PRETRAIN_SEGMB_INIT)."""

from __future__ import annotations

import torch

from vlkit.config import load_config
from vlkit.models.io import save_model
from vlkit.models.vlbert import VlBert
from vlkit.runs.vcr_model import build_vcr_model

SIZES = ["model.num_layers=1", "model.hidden_size=32", "model.num_heads=2",
         "model.intermediate_size=64"]


def test_choice_type_row_starts_as_the_text_row_of_the_pretrained_model(tmp_path):
    cfg = load_config("vlbert-tiny-vcr", SIZES)
    torch.manual_seed(0)
    pre = VlBert(cfg.model, heads=("mlm", "mvrc"))
    save_model(pre, tmp_path / "pre", cfg.model)
    table = pre.vlbert.token_type_embeddings.weight
    assert not torch.equal(table[1], table[0])

    cfg = load_config("vlbert-tiny-vcr", [*SIZES, f"train.init_from={tmp_path / 'pre'}"])
    model = build_vcr_model(cfg, heads=("vcr",))
    rows = model.vlbert.token_type_embeddings.weight
    assert torch.equal(rows[0], table[0]) and torch.equal(rows[1], table[0])
    assert torch.equal(rows[2], table[2])
    assert torch.equal(model.vlbert.word_embeddings.weight, pre.vlbert.word_embeddings.weight)

    with torch.no_grad():
        rows[1] += 1.0  # as fine-tuning would move it
    save_model(model, tmp_path / "vcr", cfg.model)  # a VCR checkpoint loads as it is
    again = build_vcr_model(load_config("vlbert-tiny-vcr",
                                        [*SIZES, f"train.init_from={tmp_path / 'vcr'}"]),
                            heads=("vcr",))
    assert torch.equal(again.vlbert.token_type_embeddings.weight, rows)
