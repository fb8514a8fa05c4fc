"""`vlkit.pipeline` and `vlkit predict --input/--output` on tiny trained runs: every input form
gives the answer `vlkit predict` gives, a batch equals its examples one by one, unknown words
are reported, bad JSONL lines are reported by number while the others run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import vlkit
from vlkit.cli.main import main
from vlkit.data.stores.native_txt import NativeTextStore
from vlkit.data.synthetic.features import region_boxes
from vlkit.data.synthetic.render import render_scene
from vlkit.data.synthetic.scene import sample_scene
from vlkit.inference.inputs import InputError


def _records(world: Path, store: str, count: int) -> list[dict]:
    txt = NativeTextStore(world / "txt" / f"{store}_val")
    return [txt.get(i) for i in txt.ids()[:count]]


def _world_image(img_id: str, folder: Path) -> tuple[Path, np.ndarray, list]:
    """The world's pixels of `img_id` as a PNG, and the pixel boxes its store was made from."""
    rng = np.random.default_rng([0, 0, int(img_id.split("-")[1])])  # as the world draws them
    scene = sample_scene(rng)
    pixels = render_scene(scene, rng)
    xyxy, _ = region_boxes(scene, rng)
    path = folder / f"{img_id}.png"
    Image.fromarray(pixels).save(path)
    return path, pixels, xyxy.tolist()


@pytest.fixture(scope="module")
def vqa(runs):
    return vlkit.pipeline("vqa", runs["vqa"], device="cpu")


def test_every_image_form_gives_the_stored_images_answer(vqa, runs, world, tmp_path, capsys):
    rec = _records(world, "vqa", 1)[0]
    capsys.readouterr()
    assert main(["predict", "vqa", "--checkpoint", str(runs["vqa"]), "--question", rec["text"],
                 "--img-id", rec["img_id"]]) == 0
    cli = json.loads(capsys.readouterr().out)
    stored = vqa(img_id=rec["img_id"], question=rec["text"])
    assert stored["answers"] == cli["answers"] and stored["tokens"] == cli["tokens"]
    path, pixels, boxes = _world_image(rec["img_id"], tmp_path)
    forms = {"path": vqa(image=str(path), question=rec["text"]),  # boxes from the store
             "array": vqa(image=pixels, boxes=boxes, question=rec["text"]),
             "pil": vqa(image=Image.fromarray(pixels), boxes=boxes, question=rec["text"])}
    for name, result in forms.items():
        assert [a["answer"] for a in result["answers"]] == \
            [a["answer"] for a in stored["answers"]], name
        assert [a["score"] for a in result["answers"]] == \
            pytest.approx([a["score"] for a in stored["answers"]], abs=1e-4), name
        assert result["images"][0]["width"] == pixels.shape[1]
        assert len(result["images"][0]["regions"]) == len(stored["images"][0]["regions"])
    assert forms["path"]["img_ids"] == [rec["img_id"]]


def test_a_batch_equals_its_examples_one_by_one(vqa, world):
    recs = _records(world, "vqa", 5)
    inputs = [{"img_id": r["img_id"], "question": r["text"]} for r in recs]
    batched = vqa(inputs, batch_size=3)
    assert len(batched) == 5
    for item, got in zip(inputs, batched, strict=True):
        alone = vqa(item)
        assert [a["answer"] for a in got["answers"]] == [a["answer"] for a in alone["answers"]]
        assert [a["score"] for a in got["answers"]] == \
            pytest.approx([a["score"] for a in alone["answers"]], abs=1e-5)


def test_unknown_words_are_listed_and_warned(vqa, runs, world, capsys):
    rec = _records(world, "vqa", 1)[0]
    question = "what shade is the enormous square ?"
    out = vqa(img_id=rec["img_id"], question=question)
    assert out["unknown_words"] == ["shade", "enormous"]
    assert out["tokens"].count("[UNK]") == 2
    capsys.readouterr()
    assert main(["predict", "vqa", "--checkpoint", str(runs["vqa"]), "--question", question,
                 "--img-id", rec["img_id"]]) == 0
    err = capsys.readouterr().err
    assert "read as [UNK] (not in the model's vocabulary): shade, enormous" in err


def test_bad_inputs_name_their_field(vqa, world):
    rec = _records(world, "vqa", 1)[0]
    cases = [({"question": "x"}, "image / img_id"),
             ({"img_id": rec["img_id"], "image": "a.png", "question": "x"}, "image / img_id"),
             ({"img_id": rec["img_id"]}, "question"),
             ({"img_id": rec["img_id"], "question": "  "}, "question"),
             ({"img_id": rec["img_id"], "question": 3}, "question"),
             ({"img_id": "no-such-image", "question": "x"}, "img_id"),
             ({"image": np.zeros((4, 4), np.uint8), "question": "x"}, "image")]
    for item, field in cases:
        with pytest.raises(InputError) as err:
            vqa(item)
        assert err.value.field == field, item


def test_attention_maps_cls_to_regions(runs, world):
    re_pipe = vlkit.pipeline("re", runs["re"], device="cpu")
    rec = _records(world, "refer", 1)[0]
    out = re_pipe(img_id=rec["img_id"], expression=rec["text"], attention=True)
    maps = np.array(out["attention"])  # (layers, heads, regions)
    assert maps.shape == (1, 2, len(out["images"][0]["regions"]))
    assert ((maps > 0) & (maps < 1)).all() and (maps.sum(-1) < 1).all()  # text keys take some


def test_predict_jsonl_reports_bad_lines_and_runs_the_rest(runs, world, tmp_path, capsys):
    recs = _records(world, "vqa", 3)
    path, _, _ = _world_image(recs[0]["img_id"], tmp_path)
    lines = [json.dumps({"img_id": recs[0]["img_id"], "question": recs[0]["text"]}),
             "{not json",
             json.dumps({"image": path.name, "question": recs[0]["text"]}),  # relative path
             "",
             json.dumps({"img_id": recs[1]["img_id"]}),
             json.dumps({"image": "missing.png", "question": "what ?"}),
             json.dumps({"img_id": recs[2]["img_id"], "question": recs[2]["text"]})]
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    assert main(["predict", "vqa", "--checkpoint", str(runs["vqa"]), "--input", str(source),
                 "--output", str(out), "--batch-size", "2", "--no-progress"]) == 0
    printed = capsys.readouterr()
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["line"] for r in rows] == [1, 2, 3, 5, 6, 7]
    assert ["error" in r for r in rows] == [False, True, False, True, True, False]
    assert rows[3]["field"] == "question" and "missing.png" in rows[4]["error"]
    for line in (2, 5, 6):
        assert f"in.jsonl:{line}:" in printed.err
    assert "3 of 6 lines predicted, 3 failed" in printed.out
    pipe = vlkit.pipeline("vqa", runs["vqa"], device="cpu")
    for row, rec in ((rows[0], recs[0]), (rows[2], recs[0]), (rows[5], recs[2])):
        alone = pipe(img_id=rec["img_id"], question=rec["text"])
        assert [a["answer"] for a in row["answers"]] == [a["answer"] for a in alone["answers"]]


def test_bf16_pipeline_stays_close_to_fp32(vqa, runs, world):
    rec = _records(world, "vqa", 1)[0]
    bf16 = vlkit.pipeline("vqa", runs["vqa"], device="cpu", precision="bf16")
    assert (vqa.precision, bf16.precision) == ("fp32", "bf16")  # the run trained in fp32
    want = vqa(img_id=rec["img_id"], question=rec["text"], top_k=100)
    got = bf16(img_id=rec["img_id"], question=rec["text"], top_k=100)
    scores = {a["answer"]: a["score"] for a in got["answers"]}
    assert max(abs(scores[a["answer"]] - a["score"]) for a in want["answers"]) < 0.02
    assert scores != {a["answer"]: a["score"] for a in want["answers"]}  # bf16 did run
