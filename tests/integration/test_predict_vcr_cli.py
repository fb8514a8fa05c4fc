"""`vlkit predict vcr`: one stored VCR record typed on the command line gets the probabilities
the batched evaluation wrote for it in the leaderboard csv."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vlkit.cli.main import main
from vlkit.data.stores.native_txt import NativeTextStore
from vlkit.metrics.vcr import read_vcr_leaderboard

TINY = ["train.val_every=100", "train.progress=false", "train.precision=fp32",
        "train.device=cpu", "model.num_layers=1", "model.hidden_size=32", "model.num_heads=2",
        "model.intermediate_size=64", "train.batch_size=4", "train.total_steps=3",
        "train.warmup_steps=1", "train.num_threads=1", "data.train_limit=8",
        "train.lr=0.01"]  # a large step, so that the choices get clearly different scores


@pytest.fixture(scope="module")
def vcr_run(world, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("vcrpredict") / "run"
    assert main(["train", "uniter-tiny-vcr", f"data.root={world}", f"out={run}", *TINY]) == 0
    return run


def _typed(tokens: list) -> str:
    """A VCR token list as one types it: words, and references as [i, j]."""
    return " ".join(f"[{', '.join(map(str, t))}]" if isinstance(t, list) else t for t in tokens)


def _args(rec: dict) -> list[str]:
    out = ["--question", _typed(rec["question"]), "--img-id", rec["img_id"],
           "--objects", ",".join(rec["objects"])]
    for flag, key in (("--answer", "answer_choices"), ("--rationale", "rationale_choices")):
        for choice in rec[key]:
            out += [flag, _typed(choice)]
    return out


def test_predict_vcr_matches_the_leaderboard_csv(vcr_run, world, capsys):
    store = NativeTextStore(world / "txt" / "vcr_val")
    ids, answer_probs, rationale_probs = read_vcr_leaderboard(
        vcr_run / "predictions" / "vcr_val.csv")
    assert len(ids) >= 2
    for k in (0, len(ids) - 1):
        rec = store.get(ids[k])
        capsys.readouterr()
        assert main(["predict", "vcr", "--checkpoint", str(vcr_run), *_args(rec)]) == 0
        out = json.loads(capsys.readouterr().out)
        # the choices' probabilities differ by far more than the tolerance below
        assert np.ptp(answer_probs[k]) > 1e-5 and np.ptp(rationale_probs[k]) > 1e-5
        assert out["text"] == rec["text"] and out["img_ids"] == [rec["img_id"]]
        assert out["unknown_words"] == [] and "[UNK]" not in out["tokens"]  # [i] rendered
        assert np.allclose(out["answer_probs"], answer_probs[k], rtol=0, atol=1e-7)
        assert np.allclose(out["rationale_probs"], rationale_probs[k], rtol=0, atol=1e-7)
        a = int(answer_probs[k].argmax())
        assert out["answer"] == a and out["rationale"] == int(rationale_probs[k, a].argmax())
        assert out["answer_text"] == _typed(rec["answer_choices"][a])
        assert out["rationale_text"] == _typed(rec["rationale_choices"][out["rationale"]])


def test_predict_vcr_errors_name_the_flag(vcr_run, world, capsys):
    rec = NativeTextStore(world / "txt" / "vcr_val").get(
        NativeTextStore(world / "txt" / "vcr_val").ids()[0])
    args = _args(rec)
    no_objects = args[:4] + args[6:]  # references but no --objects
    assert main(["predict", "vcr", "--checkpoint", str(vcr_run), *no_objects]) == 2
    assert "--objects" in capsys.readouterr().err
    three = args[:-2]  # only 3 rationales
    assert main(["predict", "vcr", "--checkpoint", str(vcr_run), *three]) == 2
    assert "rationales: expected 4 non-empty strings" in capsys.readouterr().err
