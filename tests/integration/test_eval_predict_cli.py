"""`vlkit eval` and `vlkit predict` through the CLI on tiny runs of every task: eval of a run,
model folder or training checkpoint reproduces the metrics and prediction files the training
run ended with; predict on one stored example agrees with the batched evaluation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vlkit.cli.main import main
from vlkit.data.stores.native_txt import NativeTextStore

# task -> (preset, predictions file suffix); the runs come from conftest's `runs` fixture
TASKS = {"vqa": ("uniter-tiny-vqa", "json"), "nlvr2": ("uniter-tiny-nlvr2", "csv"),
         "ve": ("uniter-tiny-ve", "csv"), "itm": ("uniter-tiny-itm", "json"),
         "re": ("uniter-tiny-re", "json")}
STORE = {"vqa": "vqa", "nlvr2": "nlvr2", "ve": "snli_ve", "itm": "caption", "re": "refer"}


def _metrics(run: Path) -> dict:
    return json.loads((run / "final_metrics.json").read_text())


@pytest.mark.parametrize("task", list(TASKS))
def test_eval_of_a_run_reproduces_the_training_evaluation(runs, task, capsys):
    run = runs[task]
    capsys.readouterr()
    assert main(["eval", str(run)]) == 0
    printed = json.loads(capsys.readouterr().out)
    written = json.loads((run / "eval" / "metrics.json").read_text())
    assert printed == written and written["recipe"] == task
    trained = _metrics(run)
    suffix = TASKS[task][1]
    for split in ("val", "test"):
        got, want = written[split], trained[split]
        for key, value in want.items():
            if key in ("pairs_per_s", "seconds"):
                continue
            if isinstance(value, list | dict):  # confusion matrix, official VQA figures
                assert got[key] == value, (split, key)
            else:
                assert got[key] == pytest.approx(value, abs=1e-6), (split, key)
        name = f"{task}_{split}.{suffix}"
        assert (run / "eval" / "predictions" / name).read_text() == \
            (run / "predictions" / name).read_text()


def test_eval_of_a_checkpoint_file_and_of_a_model_folder(runs, tmp_path):
    run = runs["nlvr2"]  # its token-type table grew after config.yaml was written
    ckpt = sorted((run / "checkpoints").glob("step_*.pt"))[-1]
    assert main(["eval", str(ckpt), f"out={tmp_path / 'a'}", "--splits", "val"]) == 0
    assert main(["eval", str(run / "model"), f"out={tmp_path / 'b'}", "--splits", "val"]) == 0
    a = json.loads((tmp_path / "a" / "metrics.json").read_text())
    b = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert set(a) == {"source", "recipe", "precision", "val"} and a["val"] == b["val"]
    assert a["val"]["accuracy"] == pytest.approx(_metrics(run)["val"]["accuracy"])
    assert sorted(p.name for p in (tmp_path / "a" / "predictions").iterdir()) == \
        ["nlvr2_val.csv"]


def test_eval_of_a_pretrained_model_zero_shot_retrieval(runs, world, tmp_path, tiny):
    """A model without a rank head is evaluated as retrieval from its ITM head."""
    pre = tmp_path / "pre"
    assert main(["train", "uniter-tiny-pretrain", f"data.root={world}", f"out={pre}", *tiny,
                 "train.total_steps=1"]) == 0
    out = tmp_path / "zs"
    assert main(["eval", str(pre), "recipe=itm", "data.val_txt=[txt/caption_val]",
                 "data.test_txt=[]", f"out={out}"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"source", "recipe", "precision", "val"}
    assert 0 <= metrics["val"]["r_mean"] <= 1
    assert (out / "predictions" / "itm_val.json").is_file()


def test_eval_errors_name_the_problem(runs, tmp_path, capsys):
    assert main(["eval", str(tmp_path / "nothing")]) == 2
    assert f"no such file or folder: {tmp_path / 'nothing'}" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["eval", str(tmp_path / "empty")]) == 2
    assert "expected a run directory" in capsys.readouterr().err
    assert main(["eval", str(runs["vqa"]), "recipe=pretrain"]) == 2
    assert "has no evaluation" in capsys.readouterr().err
    assert main(["eval", str(runs["vqa"]), "data.val_txt=[]", "data.test_txt=[]"]) == 2
    assert "nothing to evaluate" in capsys.readouterr().err


def _record(world: Path, task: str, index: int = 0) -> dict:
    store = NativeTextStore(world / "txt" / f"{STORE[task]}_val")
    return store.get(store.ids()[index])


def _run_predict(capsys, task: str, run: Path, flag: str, text: str, img_ids: list[str],
                 *extra: str) -> dict:
    capsys.readouterr()
    ids = [arg for img in img_ids for arg in ("--img-id", img)]
    assert main(["predict", task, "--checkpoint", str(run), flag, text, *ids, *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_predict_vqa_matches_the_batched_evaluation(runs, world, capsys):
    rec = _record(world, "vqa")
    out = _run_predict(capsys, "vqa", runs["vqa"], "--question", rec["text"], [rec["img_id"]],
                       "--top-k", "3", "--img-store", str(world / "img"))
    scores = [a["score"] for a in out["answers"]]
    assert len(scores) == 3 and scores == sorted(scores, reverse=True)
    answers = json.loads((runs["vqa"] / "predictions" / "vqa_val.json").read_text())
    want = next(a["answer"] for a in answers if str(a["question_id"]) == rec["id"])
    assert out["answers"][0]["answer"] == want


def test_predict_nlvr2_ve_itm_re_match_the_batched_evaluation(runs, world, capsys):
    rec = _record(world, "nlvr2")
    out = _run_predict(capsys, "nlvr2", runs["nlvr2"], "--statement", rec["text"],
                       rec["img_ids"])
    lines = (runs["nlvr2"] / "predictions" / "nlvr2_val.csv").read_text().splitlines()
    assert str(out["prediction"]) == dict(x.split(",") for x in lines)[rec["id"]]

    rec = _record(world, "ve")
    out = _run_predict(capsys, "ve", runs["ve"], "--hypothesis", rec["text"], [rec["img_id"]])
    lines = (runs["ve"] / "predictions" / "ve_val.csv").read_text().splitlines()[1:]
    assert out["label"] == dict(x.split(",") for x in lines)[rec["id"]]
    assert sum(out["scores"].values()) == pytest.approx(1.0, abs=1e-5)

    rec = _record(world, "itm")
    out = _run_predict(capsys, "itm", runs["itm"], "--caption", rec["text"], [rec["img_id"]])
    rankings = json.loads((runs["itm"] / "predictions" / "itm_val.json").read_text())
    listed = dict(map(tuple, rankings["txt2img"][rec["id"]]))
    assert out["score"] == pytest.approx(listed[rec["img_id"]], abs=1e-4)

    rec = _record(world, "re")
    out = _run_predict(capsys, "re", runs["re"], "--expression", rec["text"], [rec["img_id"]])
    boxes = json.loads((runs["re"] / "predictions" / "re_val.json").read_text())
    assert out["box"] == pytest.approx(next(b["box"] for b in boxes if b["id"] == rec["id"]))
    assert out["regions"][0]["region"] == out["region"]


def test_predict_errors(runs, world, capsys):
    rec = _record(world, "vqa")
    code = main(["predict", "re", "--checkpoint", str(runs["vqa"]), "--expression", "x",
                 "--img-id", rec["img_id"]])
    assert code == 2 and "re_output" in capsys.readouterr().err
    code = main(["predict", "nlvr2", "--checkpoint", str(runs["nlvr2"]), "--statement", "x",
                 "--img-id", rec["img_id"]])
    assert code == 2 and "img_ids: expected 2 images" in capsys.readouterr().err
    code = main(["predict", "vqa", "--checkpoint", str(runs["vqa"]), "--question", "x",
                 "--img-id", "no-such-image"])
    assert code == 2 and "no-such-image" in capsys.readouterr().err


def test_predict_from_a_raw_image_equals_predicting_from_the_store(runs, world, tmp_path,
                                                                    capsys):
    import numpy as np
    from PIL import Image

    from vlkit.data.synthetic.features import region_boxes
    from vlkit.data.synthetic.render import render_scene
    from vlkit.data.synthetic.scene import sample_scene

    rec = _record(world, "vqa")
    rng = np.random.default_rng([0, 0, int(rec["img_id"].split("-")[1])])  # as the world draws
    scene = sample_scene(rng)
    pixels = render_scene(scene, rng)
    xyxy, _ = region_boxes(scene, rng)  # the pixel boxes the world's store was extracted from
    png, boxes = tmp_path / f"{rec['img_id']}.png", tmp_path / "boxes.json"
    Image.fromarray(pixels).save(png)
    boxes.write_text(json.dumps(xyxy.tolist()))
    stored = _run_predict(capsys, "vqa", runs["vqa"], "--question", rec["text"],
                          [rec["img_id"]], "--img-store", str(world / "img"))
    capsys.readouterr()
    assert main(["predict", "vqa", "--checkpoint", str(runs["vqa"]), "--question", rec["text"],
                 "--image", str(png), "--boxes", str(boxes),
                 "--extract-from", str(world)]) == 0
    raw = json.loads(capsys.readouterr().out)
    assert [a["answer"] for a in raw["answers"]] == [a["answer"] for a in stored["answers"]]
    assert [a["score"] for a in raw["answers"]] == \
        pytest.approx([a["score"] for a in stored["answers"]], abs=1e-6)
    assert main(["predict", "vqa", "--checkpoint", str(runs["vqa"]), "--question", "x",
                 "--image", str(png), "--img-id", rec["img_id"]]) == 2
    boxes.write_text(json.dumps({rec["img_id"]: xyxy.tolist()}))  # vlkit extract's shape
    for given in (["--boxes", str(boxes)], []):  # without --boxes: the store's boxes
        capsys.readouterr()
        assert main(["predict", "vqa", "--checkpoint", str(runs["vqa"]), "--question",
                     rec["text"], "--image", str(png), *given, "--extract-from",
                     str(world)]) == 0
        out = json.loads(capsys.readouterr().out)
        assert [a["answer"] for a in out["answers"]] == [a["answer"] for a in raw["answers"]]
        assert [a["score"] for a in out["answers"]] == \
            pytest.approx([a["score"] for a in raw["answers"]], abs=1e-4)
    boxes.write_text('{"other-image": [[0, 0, 1, 1]]}')
    assert main(["predict", "vqa", "--checkpoint", str(runs["vqa"]), "--question", "x",
                 "--image", str(png), "--boxes", str(boxes), "--extract-from", str(world)]) == 2
    assert f"no entry for image '{rec['img_id']}'" in capsys.readouterr().err
    boxes.write_text('[[1, 2, 3]]')
    assert main(["predict", "vqa", "--checkpoint", str(runs["vqa"]), "--question", "x",
                 "--image", str(png), "--boxes", str(boxes), "--extract-from", str(world)]) == 2
    assert f"--boxes {boxes}: expected a JSON list" in capsys.readouterr().err
    other = tmp_path / "not-in-the-world.png"
    Image.fromarray(pixels).save(other)
    assert main(["predict", "vqa", "--checkpoint", str(runs["vqa"]), "--question", "x",
                 "--image", str(other), "--extract-from", str(world)]) == 2
    assert "image 'not-in-the-world': this extractor pools given boxes" in capsys.readouterr().err


@pytest.mark.parametrize("task", list(TASKS))
def test_eval_in_bf16_scores_the_same_records(runs, task, tmp_path):
    """`train.precision=bf16` evaluates under bf16 autocast: every record is predicted and
    the metrics stay within bf16's rounding of the fp32 evaluation's."""
    out = tmp_path / "bf16"
    assert main(["eval", str(runs[task]), "train.precision=bf16", f"out={out}"]) == 0
    got = json.loads((out / "metrics.json").read_text())
    want = _metrics(runs[task])
    assert got["precision"] == "bf16"
    for split in ("val", "test"):
        name = f"{task}_{split}.{TASKS[task][1]}"
        assert len((out / "predictions" / name).read_text()) > 0
        key = {"vqa": "accuracy", "nlvr2": "accuracy", "ve": "accuracy", "itm": "r_mean",
               "re": "accuracy"}[task]
        assert got[split][key] == pytest.approx(want[split][key], abs=0.15), split
