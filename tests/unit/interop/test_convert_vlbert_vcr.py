"""`vlkit convert vlbert` on a VCR checkpoint as VL-BERT's vcr/train_end2end.py saves it.

VL-BERT's VCR model (vcr/modules/resnet_vlbert_for_vcr.py) differs from its VQA model by
wrapping the BERT in TimeDistributed (`vlbert._module.*`), by its pooler (with_pooler,
`vlbert._module.pooler.dense.*`), by the "1fc" choice scorer `final_mlp` = (Dropout,
Linear(H, 1)) and by the auxiliary object classifier `cnn_loss_reg` = (MVRC transform,
Dropout, Linear(H, 81)). The file is built from the VQA key listing with those changes.
"""

from __future__ import annotations

import torch
from released_keys import released_state_dict

from vlkit.cli.main import main
from vlkit.models.io import load_model

GEO_256 = {4096: 8 * 256 + 12}


def _vcr_state_dict(fixtures_dir) -> dict[str, torch.Tensor]:
    base = released_state_dict(fixtures_dir, "vlbert_base_vqa", sizes=GEO_256)
    g = torch.Generator().manual_seed(1)
    sd = {("vlbert._module." + k[len("vlbert."):] if k.startswith("vlbert.") else k): v
          for k, v in base.items() if not k.startswith("final_mlp.")}
    h = base["vlbert.word_embeddings.weight"].shape[1]
    for key, shape in (("vlbert._module.pooler.dense.weight", (h, h)),
                       ("vlbert._module.pooler.dense.bias", (h,)),
                       ("final_mlp.1.weight", (1, h)), ("final_mlp.1.bias", (1,)),
                       ("cnn_loss_reg.0.dense.weight", (h, h)), ("cnn_loss_reg.0.dense.bias", (h,)),
                       ("cnn_loss_reg.2.weight", (81, h)), ("cnn_loss_reg.2.bias", (81,))):
        sd[key] = torch.randn(shape, generator=g)
    return sd


def test_vcr_checkpoint_converts_with_pooler_and_scorer(tmp_path, fixtures_dir, capsys):
    sd = _vcr_state_dict(fixtures_dir)
    torch.save({"state_dict": {"module." + k: v for k, v in sd.items()}, "optimizer": {}},
               tmp_path / "vl-bert_base_a_res101-0019.model")
    assert main(["convert", "vlbert", str(tmp_path / "vl-bert_base_a_res101-0019.model"),
                 str(tmp_path / "vl")]) == 0
    out = capsys.readouterr().out
    assert "cnn_loss_reg.* (4 keys)" in out
    model = load_model(tmp_path / "vl")
    assert model.heads == ("vcr",)
    own = model.state_dict()
    for key in ("pooler.dense.weight", "word_embeddings.weight", "end_embedding.weight",
                "encoder.layer.1.output.dense.bias", "token_type_embeddings.weight"):
        assert torch.equal(own["vlbert." + key], sd["vlbert._module." + key]), key
    assert torch.equal(own["final_mlp.1.weight"], sd["final_mlp.1.weight"])
    assert torch.equal(own["object_linguistic_embeddings.weight"],
                       sd["object_linguistic_embeddings.weight"])


def test_pooler_without_a_vcr_scorer_is_left_out(tmp_path, fixtures_dir, capsys):
    sd = released_state_dict(fixtures_dir, "vlbert_base_vqa", sizes=GEO_256)
    h = sd["vlbert.word_embeddings.weight"].shape[1]
    sd["vlbert.pooler.dense.weight"], sd["vlbert.pooler.dense.bias"] = torch.zeros(h, h), \
        torch.zeros(h)
    torch.save({"state_dict": {"module." + k: v for k, v in sd.items()}}, tmp_path / "v.model")
    assert main(["convert", "vlbert", str(tmp_path / "v.model"), str(tmp_path / "vl")]) == 0
    assert "vlbert.pooler.* (2 keys)" in capsys.readouterr().out
    assert load_model(tmp_path / "vl").heads == ("vqa",)
