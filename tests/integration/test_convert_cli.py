"""`vlkit convert uniter` through the CLI: UNITER .pt -> vlkit folder -> UNITER .pt, and a
trained vlkit model -> UNITER .pt (+ its JSON config) -> vlkit folder that `vlkit predict`
still answers with."""

from __future__ import annotations

import json
import subprocess
import sys

import torch
import yaml

from vlkit.cli.main import main
from vlkit.data.stores.native_txt import NativeTextStore
from vlkit.models.config import ModelConfig
from vlkit.models.presets import MODEL_PRESETS
from vlkit.models.uniter import Uniter


def _released_like(path, heads=("mlm", "mrfr", "mrc", "itm")):
    """A synthetic UNITER checkpoint: UNITER names, `module.` prefix, saved with torch.save."""
    torch.manual_seed(0)
    cfg = ModelConfig(hidden_size=128, num_layers=2, num_heads=2, intermediate_size=64,
                      vocab_size=60, max_position_embeddings=20, img_dim=12, img_label_dim=7)
    sd = {"module." + k: v.clone() for k, v in Uniter(cfg, heads=heads).state_dict().items()}
    torch.save(sd, path)
    return {k[len("module."):]: v for k, v in sd.items()}


def test_round_trip_through_cli(tmp_path):
    original = _released_like(tmp_path / "uniter.pt")
    assert main(["convert", "uniter", str(tmp_path / "uniter.pt"), str(tmp_path / "vl")]) == 0
    assert (tmp_path / "vl" / "model.safetensors").is_file()
    assert (tmp_path / "vl" / "config.yaml").is_file()
    assert main(["convert", "uniter", "--export", str(tmp_path / "vl"),
                 str(tmp_path / "back.pt")]) == 0
    back = torch.load(tmp_path / "back.pt", weights_only=True)
    assert set(back) == set(original)
    for key, value in original.items():
        assert torch.equal(back[key], value), key


def test_preset_mismatch_and_bad_keys_reported(tmp_path, capsys):
    sd = _released_like(tmp_path / "uniter.pt", heads=("itm",))
    code = main(["convert", "uniter", str(tmp_path / "uniter.pt"), str(tmp_path / "a"),
                 "--model", "uniter-base"])
    assert code == 2
    assert "uniter.embeddings.word_embeddings.weight" in capsys.readouterr().err
    sd["itm_output.weight"] = torch.zeros(2, 5)
    sd["uniter.bogus"] = torch.zeros(1)
    torch.save(sd, tmp_path / "bad.pt")
    result = subprocess.run([sys.executable, "-m", "vlkit", "convert", "uniter",
                             str(tmp_path / "bad.pt"), str(tmp_path / "b")],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "itm_output.weight" in result.stderr and "uniter.bogus" in result.stderr
    assert not (tmp_path / "b").exists()


TINY_VQA = ["train.progress=false", "train.precision=fp32", "train.device=cpu",
            "train.num_threads=1", "train.warmup_steps=1", "train.val_every=100",
            "train.ckpt_every=1000", "model.num_layers=1", "model.hidden_size=128",
            "model.num_heads=4", "model.intermediate_size=64", "model.hidden_dropout=0.0",
            "model.attention_dropout=0.0", "train.batch_size=4", "train.total_steps=2",
            "data.train_limit=8"]


def test_export_then_convert_keeps_heads_dropout_vocab_and_predict_works(world, tmp_path,
                                                                         capsys):
    run = tmp_path / "vqa"
    assert main(["train", "uniter-tiny-vqa", f"data.root={world}", f"out={run}",
                 *TINY_VQA]) == 0
    pt, back = tmp_path / "out.pt", tmp_path / "back"
    assert main(["convert", "uniter", "--export", str(run / "model"), str(pt)]) == 0
    sidecar = json.loads(pt.with_suffix(".json").read_text())
    assert sidecar["num_attention_heads"] == 4 and sidecar["hidden_dropout_prob"] == 0.0
    assert main(["convert", "uniter", str(pt), str(back)]) == 0
    before = yaml.safe_load((run / "model" / "config.yaml").read_text())
    after = yaml.safe_load((back / "config.yaml").read_text())
    assert after["model"]["num_heads"] == 4  # not hidden/64 = 2
    assert after["model"]["hidden_dropout"] == after["model"]["attention_dropout"] == 0.0
    assert after["text"] == before["text"] and after["text"]["vocab"] == "synthetic-world"
    assert after["model"] == before["model"]

    store = NativeTextStore(world / "txt" / "vqa_val")
    rec = store.get(store.ids()[0])
    answers = []
    for source in (run / "model", back):
        capsys.readouterr()
        assert main(["predict", "vqa", "--checkpoint", str(source), "--question", rec["text"],
                     "--img-id", rec["img_id"], "--img-store", str(world / "img")]) == 0
        answers.append(json.loads(capsys.readouterr().out)["answers"])
    assert answers[0] == answers[1]
    from_run = tmp_path / "from_run.pt"  # a run directory exports its model/ folder
    assert main(["convert", "uniter", "--export", str(run), str(from_run)]) == 0
    a, b = (torch.load(f, weights_only=True) for f in (pt, from_run))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_released_weights_with_uniter_json_config_or_a_warned_guess(tmp_path, caplog):
    _released_like(tmp_path / "uniter.pt")  # 128 hidden, 2 heads: hidden/64 happens to be 2
    config = {"attention_probs_dropout_prob": 0.0, "hidden_act": "gelu",
              "hidden_dropout_prob": 0.05, "hidden_size": 128, "initializer_range": 0.02,
              "intermediate_size": 64, "max_position_embeddings": 20,
              "num_attention_heads": 8, "num_hidden_layers": 2, "type_vocab_size": 2,
              "vocab_size": 60}
    (tmp_path / "tiny.json").write_text(json.dumps(config))
    assert main(["convert", "uniter", str(tmp_path / "uniter.pt"), str(tmp_path / "a"),
                 "--config", str(tmp_path / "tiny.json")]) == 0
    model = yaml.safe_load((tmp_path / "a" / "config.yaml").read_text())["model"]
    assert (model["num_heads"], model["hidden_dropout"], model["attention_dropout"]) == \
        (8, 0.05, 0.0)
    caplog.clear()
    assert main(["convert", "uniter", str(tmp_path / "uniter.pt"), str(tmp_path / "b")]) == 0
    assert "assumed hidden_size // 64 = 2" in caplog.text and "--config" in caplog.text


def test_preset_differing_only_in_vocab_size_is_accepted_with_a_note(tmp_path, caplog):
    torch.manual_seed(0)
    tiny = ModelConfig(**{**MODEL_PRESETS["uniter-tiny"], "vocab_size": 84})
    torch.save(Uniter(tiny, heads=("itm",)).state_dict(), tmp_path / "tiny.pt")
    assert main(["convert", "uniter", str(tmp_path / "tiny.pt"), str(tmp_path / "a"),
                 "--model", "uniter-tiny"]) == 0
    model = yaml.safe_load((tmp_path / "a" / "config.yaml").read_text())["model"]
    assert model["vocab_size"] == 84 and model["num_heads"] == 4
    assert "using vocab_size=84 from the weights" in caplog.text


def test_a_model_smaller_than_its_vocabulary_is_refused_by_name(world, tmp_path, capsys):
    """A released file converted without its config keeps bert-base-uncased as text.vocab:
    predict names the mismatch instead of failing with an IndexError in the embeddings."""
    _released_like(tmp_path / "uniter.pt", heads=("itm",))  # vocab_size 60
    assert main(["convert", "uniter", str(tmp_path / "uniter.pt"), str(tmp_path / "a")]) == 0
    capsys.readouterr()
    assert main(["predict", "itm", "--checkpoint", str(tmp_path / "a"), "--caption", "a red",
                 "--img-id", "x", "--img-store", str(world / "img")]) == 2
    err = capsys.readouterr().err
    assert "trained on token ids of the vocabulary 'bert-base-uncased' (60 tokens)" in err
    assert "text.vocab=bert-base-uncased has 30,522 tokens" in err
