"""`vlkit convert vlbert` on tiny checkpoints with VL-BERT's released key names and shapes."""

from __future__ import annotations

import torch
from released_keys import key_list, released_state_dict

from vlkit.cli.main import main
from vlkit.interop.vlbert_keys import infer_vlbert_sizes, normalize_vlbert_keys
from vlkit.models.io import load_model

GEO_256 = {4096: 8 * 256 + 12}  # object input width when G is VL-BERT's 256 and D = 12


SAMPLE = ("vlbert.word_embeddings.weight", "vlbert.visual_ln_object.weight",
          "vlbert.encoder.layer.1.attention.self.key.bias", "vlbert.end_embedding.weight",
          "image_feature_extractor.obj_downsample.1.weight", "object_linguistic_embeddings.weight",
          "vlbert.mvrc_head.region_cls_pred.bias", "vlbert.mlm_head.predictions.bias",
          "aux_text_visual_embedding.weight")


def _save(sd: dict, path) -> None:
    """As VL-BERT's checkpoint callback writes it: DDP prefix, state_dict + optimizer."""
    torch.save({"state_dict": {"module." + k: v for k, v in sd.items()},
                "optimizer": {"state": {}, "param_groups": []}}, path)


def test_prec_pretrain_checkpoint_converts(tmp_path, fixtures_dir, capsys):
    sd = released_state_dict(fixtures_dir, "vlbert_base_pretrain")
    _save(sd, tmp_path / "vl-bert-base-prec.model")
    assert main(["convert", "vlbert", str(tmp_path / "vl-bert-base-prec.model"),
                 str(tmp_path / "vl")]) == 0
    assert "region features 12" in capsys.readouterr().out
    model = load_model(tmp_path / "vl")
    own = model.state_dict()
    for key in SAMPLE:
        assert torch.equal(own[key], sd[key]), key
    assert torch.equal(own["vlbert.mlm_head.predictions.decoder.weight"],
                       sd["vlbert.word_embeddings.weight"])
    cfg = model.cfg
    assert (cfg.arch, cfg.hidden_size, cfg.num_layers, cfg.type_vocab_size) == ("vlbert", 16, 2, 3)
    assert (cfg.img_dim, cfg.vlbert_geo_dim, cfg.img_label_dim) == (12, 2, 7)


def test_e2e_checkpoint_leaves_the_resnet_out(tmp_path, fixtures_dir, capsys):
    listing = key_list(fixtures_dir, "vlbert_base_pretrain")
    # no masked-region feature in e2e files: G must come from elsewhere (default 256)
    sd = released_state_dict(fixtures_dir, "vlbert_base_pretrain", sizes=GEO_256,
                             skip=("object_mask_visual_embedding",))
    extra = list(listing["e2e_extra_keys"])
    assert any(k.startswith("image_feature_extractor.backbone.") for k in extra)
    for key in extra[:40]:
        sd[key] = torch.zeros(1)
    _save(sd, tmp_path / "e2e.model")
    assert main(["convert", "vlbert", str(tmp_path / "e2e.model"), str(tmp_path / "vl")]) == 0
    out = capsys.readouterr().out
    assert "image_feature_extractor.backbone.*" in out
    assert "object_mask_visual_embedding.weight (absent: set to zeros)" in out
    model = load_model(tmp_path / "vl")
    assert model.cfg.img_dim == 12 and model.cfg.vlbert_geo_dim == 256
    assert not model.object_mask_visual_embedding.weight.any()


def test_vqa_checkpoint_and_problems_named(tmp_path, fixtures_dir, capsys):
    sd = released_state_dict(fixtures_dir, "vlbert_base_vqa", sizes=GEO_256)
    _save(sd, tmp_path / "vqa.model")
    assert main(["convert", "vlbert", str(tmp_path / "vqa.model"), str(tmp_path / "vl")]) == 0
    model = load_model(tmp_path / "vl")
    assert model.heads == ("vqa",)
    assert torch.equal(model.final_mlp[2].weight, sd["final_mlp.2.weight"])  # (5, 16)
    assert torch.equal(model.final_mlp[0].LayerNorm.bias, sd["final_mlp.0.LayerNorm.bias"])
    sd["object_mask_visual_embedding.weight"] = torch.zeros(1, 12)
    _save(sd, tmp_path / "extra.model")
    assert main(["convert", "vlbert", str(tmp_path / "extra.model"), str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err  # the VQA model has no masked-region vector
    assert "unexpected key(s): object_mask_visual_embedding.weight" in err
    del sd["object_mask_visual_embedding.weight"]
    sd["vlbert.encoder.layer.0.output.dense.bias"] = torch.zeros(3)
    sd["vlbert.something_new"] = torch.zeros(1)
    _save(sd, tmp_path / "bad.model")
    assert main(["convert", "vlbert", str(tmp_path / "bad.model"), str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert "vlbert.something_new" in err
    assert "vlbert.encoder.layer.0.output.dense.bias: checkpoint (3,)" in err
    assert main(["convert", "vlbert", str(tmp_path / "vqa.model"), str(tmp_path / "c"),
                 "--model", "vlbert-base"]) == 2
    assert "vlbert.word_embeddings.weight" in capsys.readouterr().err  # 16 vs 768
    assert not any((tmp_path / d).exists() for d in ("a", "b", "c"))


def test_sizes_from_shapes_without_the_model(fixtures_dir):
    sd = released_state_dict(fixtures_dir, "vlbert_base_pretrain")
    sd, left = normalize_vlbert_keys({"module." + k: v for k, v in sd.items()})
    assert left == {}
    sizes = {k: v for k, (v, _) in infer_vlbert_sizes(sd).items()}
    assert sizes == {"vocab_size": 40, "hidden_size": 16, "num_layers": 2,
                     "intermediate_size": 32, "max_position_embeddings": 20,
                     "type_vocab_size": 3, "img_label_dim": 7, "img_dim": 12,
                     "vlbert_geo_dim": 2}
