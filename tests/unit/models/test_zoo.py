"""The zoo: every preset of every family builds at tiny size, encodes the shared typed input
and trains one step through every head of its family."""

from __future__ import annotations

import pytest
import torch

from vlkit.encoder_input import EncoderInput
from vlkit.models import uniter, vlp
from vlkit.models.config import ModelConfig
from vlkit.models.nlvr2 import nlvr2_head
from vlkit.models.presets import MODEL_PRESETS
from vlkit.models.zoo import MODELS, build_model
from vlkit.utils.errors import ConfigError

TINY = dict(hidden_size=32, num_layers=2, num_heads=4, intermediate_size=64, vocab_size=120,
            max_position_embeddings=32, img_dim=24, img_label_dim=9)


def _batch(b: int = 2, lt: int = 6, nr: int = 5, box_dim: int = 7) -> EncoderInput:
    """Two pairs in UNITER's compact layout (text 6 and 4 tokens, 4 and 5 regions), the
    second region of each masked."""
    g = torch.Generator().manual_seed(0)
    txt_lens, nbbs = torch.tensor([lt, lt - 2]), torch.tensor([nr - 1, nr])
    max_l = int((txt_lens + nbbs).max())
    ids = torch.randint(5, 120, (b, lt), generator=g)
    gather = torch.arange(max_l).repeat(b, 1)
    attn = torch.zeros(b, max_l, dtype=torch.long)
    for i, (t, n) in enumerate(zip(txt_lens.tolist(), nbbs.tolist(), strict=True)):
        ids[i, t:] = 0
        gather[i, t:t + n] = torch.arange(lt, lt + n)
        attn[i, :t + n] = 1
    return EncoderInput(input_ids=ids, position_ids=torch.arange(lt)[None],
                        img_feat=torch.randn(b, nr, 24, generator=g),
                        img_pos_feat=torch.rand(b, nr, box_dim, generator=g), attn_masks=attn,
                        gather_index=gather, txt_lens=txt_lens, num_bbs=nbbs,
                        img_masks=torch.zeros(b, nr, dtype=torch.bool).index_fill(
                            1, torch.tensor([1]), True))


# the head sets a model of each family is built with (VL-BERT's vqa/re/vcr share final_mlp)
HEAD_SETS = {"uniter": [uniter.HEADS], "vlbert": [("mlm", "mvrc", h) for h in ("vqa", "re",
                                                                              "vcr")],
             "vlp": [vlp.VLP_HEADS]}
# trailing size of each head's output (TINY sizes, 7 answers)
OUT_DIMS = {"mlm": 120, "mrfr": 24, "mrc": 9, "mvrc": 9, "itm": 2, "vqa": 7, "rank": 1,
            "re": 1, "nlvr2": 2}


def _head_logits(model, name: str, out, inp: EncoderInput) -> torch.Tensor:
    """Apply head `name` to the part of the encoder output it reads in training."""
    lt = inp.input_ids.shape[1]
    if name == "mlm":
        return model.head(name)(out.sequence[:, :lt])
    if name in ("mrfr", "mrc"):  # UNITER's regions follow the text in the compact sequence
        return model.head(name)(out.sequence[:, lt - 2:])
    if name in ("mvrc", "re") and model.cfg.arch == "vlbert":
        return model.head(name)(out.regions)
    if name == "re":
        return model.head(name)(out.sequence[:, lt - 2:])
    if name == "nlvr2":  # paired-attn by default: rows 0 and 1 are one example's two images
        return nlvr2_head(model, model.cfg.nlvr2_variant, out.sequence, out.pooled,
                          inp.attn_masks)
    return model.head(name)(out.pooled)


PRESETS = sorted(MODEL_PRESETS)


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_encodes_trains_and_runs_every_head(name):
    spec = MODEL_PRESETS[name]
    cfg = ModelConfig(**{**spec, **TINY, "name": name})
    fam = MODELS[cfg.arch]
    box_dim = 6 + cfg.img_label_dim if cfg.arch == "vlp" else 7
    for heads in HEAD_SETS[cfg.arch]:
        model = build_model(cfg, heads=heads, num_answers=7)
        assert set(model.heads) == set(heads) and set(heads) <= set(fam.heads)
        inp = _batch(box_dim=box_dim)
        if cfg.arch == "vlp":  # VLP's attention form: a full (B, L, L) mask
            inp.img_masks = None
            inp.attn_masks = inp.attn_masks[:, None, :] * inp.attn_masks[:, :, None]
        out = model.encode(inp, output_all_layers=True)
        assert out.sequence.shape[0] == 2 and out.sequence.shape[2] == 32
        assert out.pooled.shape == (2, 32) and len(out.all_layers) == 2
        logits = {h: _head_logits(model, h, out, inp) for h in heads}
        for h, t in logits.items():
            want = 2 if (h, cfg.arch) == ("vcr", "uniter") else OUT_DIMS.get(h, 1)
            assert t.shape[-1] == want, (h, t.shape)
        text = model(EncoderInput.text_only(inp.input_ids))  # every family reads text alone
        loss = sum(t.float().pow(2).mean() for t in logits.values()) + text.pooled.sum()
        loss.backward()
        for pname, p in model.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), (heads, pname)
        assert torch.isfinite(loss)


def test_every_family_is_walked():
    """The zoo test covers every family's presets and every head of every family."""
    assert {MODEL_PRESETS[n]["arch"] for n in PRESETS} == set(MODELS)
    for arch, fam in MODELS.items():
        assert {h for heads in HEAD_SETS[arch] for h in heads} == set(fam.heads)


def test_named_head_errors_name_the_family_heads():
    model = build_model(ModelConfig(**TINY), heads=("itm",))
    assert model.head("itm") is model.itm_output
    with pytest.raises(KeyError, match="built without the 'vqa' head"):
        model.head("vqa")
    with pytest.raises(KeyError, match="no head named 'mvrc'"):
        model.head("mvrc")


def test_text_only_and_image_only_paths():
    model = build_model(ModelConfig(**{**MODEL_PRESETS["uniter-tiny"], **TINY}), heads=())
    b = _batch()
    txt = model(EncoderInput.text_only(b.input_ids))
    img = model(EncoderInput(img_feat=b.img_feat, img_pos_feat=b.img_pos_feat,
                             attn_masks=torch.ones(2, 5, dtype=torch.long)))
    assert txt.sequence.shape == (2, 6, 32) and img.sequence.shape == (2, 5, 32)


def test_activation_checkpointing_same_gradients():
    cfg = ModelConfig(**{**MODEL_PRESETS["uniter-tiny"], **TINY, "hidden_dropout": 0.0,
                         "attention_dropout": 0.0})
    torch.manual_seed(0)
    plain = build_model(cfg, heads=("itm",))
    ckpt_cfg = ModelConfig(**{**vars(cfg), "activation_checkpointing": True})
    ckpt = build_model(ckpt_cfg, heads=("itm",))
    ckpt.load_state_dict(plain.state_dict())
    grads = []
    for model in (plain, ckpt):
        model.train()
        model.itm_output(model(_batch()).pooled).sum().backward()
        grads.append(model.uniter.encoder.layer[0].attention.self.query.weight.grad)
    torch.testing.assert_close(grads[0], grads[1])


def test_tied_weights_share_storage():
    model = build_model(ModelConfig(**TINY))
    emb = model.uniter.embeddings.word_embeddings.weight
    assert model.cls.predictions.decoder.weight is emb
    assert model.feat_regress.weight is model.uniter.img_embeddings.img_linear.weight


def test_unknown_arch_and_head_rejected():
    with pytest.raises(ConfigError, match="unknown architecture"):
        build_model(ModelConfig(**{**TINY, "arch": "unitr"}))
    with pytest.raises(ConfigError, match="unknown heads"):
        build_model(ModelConfig(**TINY), heads=("mlmm",))
    with pytest.raises(ConfigError, match="num_answers"):
        build_model(ModelConfig(**TINY), heads=("vqa",))


def test_released_uniter_dims():
    base, large = MODEL_PRESETS["uniter-base"], MODEL_PRESETS["uniter-large"]
    assert (base["hidden_size"], base["num_layers"], base["num_heads"],
            base["intermediate_size"], base["vocab_size"]) == (768, 12, 12, 3072, 28996)
    assert (large["hidden_size"], large["num_layers"], large["num_heads"],
            large["intermediate_size"], large["vocab_size"]) == (1024, 24, 16, 4096, 28996)
