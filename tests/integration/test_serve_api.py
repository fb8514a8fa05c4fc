"""`vlkit serve`'s app through HTTP (FastAPI's TestClient): answers equal `vlkit.pipeline`'s,
concurrent requests share forward passes, every bad request gets a 4xx naming its field and
the server keeps answering, nothing is read from a path named in a request."""

from __future__ import annotations

import io
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient  # the dev extra installs the serve stack
from PIL import Image

import vlkit
from vlkit.cli.main import main
from vlkit.data.stores.native_txt import NativeTextStore
from vlkit.serve.app import create_app
from vlkit.serve.models import load_models
from vlkit.serve.uploads import Limits


def _record(world: Path, store: str, index: int = 0) -> dict:
    txt = NativeTextStore(world / "txt" / f"{store}_val")
    return txt.get(txt.ids()[index])


def _png(pixels: np.ndarray, mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).convert(mode).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def models(runs):
    return load_models([str(runs["vqa"]), str(runs["re"])], device="cpu")


@pytest.fixture(scope="module")
def client(models):
    app = create_app(models, max_batch=8, max_wait_ms=200,
                     limits=Limits(max_upload_bytes=200_000, max_pixels=1_000_000))
    with TestClient(app) as test_client:
        yield test_client


def test_models_and_health(client, runs):
    listed = client.get("/v1/models").json()["models"]
    assert [(m["name"], m["task"]) for m in listed] == [("vqa", "vqa"), ("re", "re")]
    assert listed[0]["layers"] == 1 and listed[0]["heads"] == 2 and listed[0]["sample_img_ids"]
    assert client.get("/healthz").json()["status"] == "ok"
    assert "/v1/{task}" in client.get("/openapi.json").json()["paths"]
    assert client.get("/").status_code == 200


def test_answers_equal_the_pipelines(client, runs, world):
    rec = _record(world, "vqa")
    got = client.post("/v1/vqa", data={"img_id": rec["img_id"], "question": rec["text"],
                                       "top_k": "3"})
    assert got.status_code == 200, got.text
    want = vlkit.pipeline("vqa", runs["vqa"], device="cpu")(
        img_id=rec["img_id"], question=rec["text"], top_k=3)
    body = got.json()
    assert body["model"] == "vqa" and body["answers"] == want["answers"]
    assert body["tokens"] == want["tokens"] and body["images"] == want["images"]
    rec = _record(world, "refer")
    got = client.post("/v1/re", data={"img_id": rec["img_id"], "expression": rec["text"],
                                      "attention": "true"}).json()
    assert got["region"] == got["regions"][0]["region"]
    assert len(got["attention"][0][0]) == len(got["images"][0]["regions"])


def test_uploaded_world_image_matches_vlkit_predict(client, runs, world, tmp_path, capsys):
    from vlkit.data.synthetic.render import render_scene
    from vlkit.data.synthetic.scene import sample_scene

    rec = _record(world, "vqa")
    rng = np.random.default_rng([0, 0, int(rec["img_id"].split("-")[1])])
    pixels = render_scene(sample_scene(rng), rng)
    path = tmp_path / f"{rec['img_id']}.png"
    path.write_bytes(_png(pixels))
    capsys.readouterr()
    assert main(["predict", "vqa", "--checkpoint", str(runs["vqa"]), "--question", rec["text"],
                 "--image", str(path)]) == 0
    want = json.loads(capsys.readouterr().out)
    files = {"image": (path.name, path.read_bytes(), "image/png")}
    got = client.post("/v1/vqa", data={"question": rec["text"]}, files=files).json()
    assert got["answers"] == want["answers"] and got["images"][0]["width"] == 96
    grey = client.post("/v1/vqa", data={"question": rec["text"]},
                       files={"image": (path.name, _png(pixels, "L"), "image/png")})
    assert grey.status_code == 200  # grayscale uploads are converted to RGB


def test_concurrent_requests_share_forward_passes(client, world):
    recs = [_record(world, "vqa", i) for i in range(8)]
    before = client.get("/healthz").json()["batches"]["vqa"]

    def ask(rec: dict) -> int:
        return client.post("/v1/vqa", data={"img_id": rec["img_id"],
                                            "question": rec["text"]}).status_code

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(ask, recs)) == [200] * 8
    batches = client.get("/healthz").json()["batches"]["vqa"] - before
    assert 1 <= batches < 8


def test_bad_requests_get_4xx_naming_the_field_and_serving_goes_on(client, world, tmp_path):
    rec = _record(world, "vqa")
    secret = tmp_path / "secret.png"
    secret.write_bytes(_png(np.zeros((20, 20, 3), np.uint8)))
    big = _png(np.random.default_rng(0).integers(0, 255, (400, 400, 3), dtype=np.uint8))
    huge = _png(np.zeros((1100, 1000, 3), np.uint8))
    png = ("x.png", "image/png")
    cases = [
        ("vqa", {"question": "what ?"}, {"image": ("a.txt", b"not an image", "text/plain")},
         400, "image"),
        ("vqa", {"question": "what ?"}, {"image": (*png[:1], b"", png[1])}, 400, "image"),
        ("vqa", {"question": "what ?"}, {"image": (png[0], _png(np.zeros((30, 30, 3),
                                                                         np.uint8))[:60],
                                                   png[1])}, 400, "image"),
        ("vqa", {"question": "what ?"}, {"image": (png[0], big, png[1])}, 413, "image"),
        ("vqa", {"question": "what ?"}, {"image": (png[0], huge, png[1])}, 413, "image"),
        ("vqa", {"img_id": rec["img_id"], "question": ""}, None, 400, "question"),
        ("vqa", {"img_id": rec["img_id"], "question": "x" * 3000}, None, 400, "question"),
        ("vqa", {"img_id": rec["img_id"]}, None, 400, "question"),
        ("vqa", {"img_id": "no-such-image", "question": "what ?"}, None, 404, "img_id"),
        ("vqa", {"image": str(secret), "question": "what ?"}, None, 400, "image"),
        ("vqa", {"img_id": rec["img_id"], "question": "q", "top_k": "many"}, None, 400,
         "top_k"),
        ("vqa", {"img_id": rec["img_id"], "question": "q", "model": "nope"}, None, 404,
         "model"),
        ("vqa", {"img_id": rec["img_id"], "question": "q", "model": "re"}, None, 400, "model"),
        ("nlvr2", {"img_id": rec["img_id"], "statement": "q"}, None, 404, "task"),
        ("retrieve", {"img_id": rec["img_id"]}, None, 404, "task"),
    ]
    for task, data, files, status, field in cases:
        got = client.post(f"/v1/{task}", data=data, files=files)
        assert (got.status_code, got.json().get("field")) == (status, field), (data, got.text)
        assert got.json()["error"]
        ok = client.post("/v1/vqa", data={"img_id": rec["img_id"], "question": rec["text"]})
        assert ok.status_code == 200


def test_a_model_that_fails_to_load_stops_start_up(tmp_path, capsys):
    broken = tmp_path / "run"
    broken.mkdir()
    assert main(["serve", "--checkpoint", str(broken)]) == 2
    assert f"cannot serve {broken}" in capsys.readouterr().err


def test_an_extractor_that_cannot_load_stops_start_up(runs, tmp_path, capsys):
    bad = tmp_path / "frcnn.bin"
    bad.write_bytes(b"not a weights file")
    assert main(["serve", "--checkpoint", str(runs["vqa"]), "--extractor", "butd",
                 "--weights", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"cannot serve {runs['vqa']}: extractor:" in err and str(bad) in err
