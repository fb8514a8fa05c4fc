"""`vlkit extract` through the real CLI: stores that validate and train, corrupt images
skipped and reported, byte-identical reruns, resume after a real kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from extract_helpers import save_resnet, write_images
from PIL import Image

from vlkit.cli.main import main
from vlkit.data.stores.native_img import NativeImageStore
from vlkit.data.synthetic.features import region_boxes
from vlkit.data.synthetic.render import render_scene
from vlkit.data.synthetic.scene import sample_scene
from vlkit.data.synthetic.world import make_images
from vlkit.extract.api import extractor_for, image_record, load_options
from vlkit.featurizers.synthetic import get_extractor

STORE_FILES = ("feat.bin", "boxes.bin", "index.json", "manifest.json")


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    return save_resnet(tmp_path_factory.mktemp("w") / "resnet18.pth")


def grid_args(images: Path, out: Path, weights: Path, *extra: str) -> list[str]:
    return ["extract", "--images", str(images), "--out", str(out), "--route", "grid",
            "--backbone", "resnet18", "--weights", str(weights), "--grid", "2",
            "--min-size", "0", "--threads", "1", *extra]


def same_store(a: Path, b: Path) -> bool:
    return all((a / f).read_bytes() == (b / f).read_bytes() for f in STORE_FILES)


def test_grid_store_validates_and_reports_corrupt_images(tmp_path, weights, capsys):
    images = tmp_path / "images"
    write_images(images, 7)
    (images / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (images / "readme.txt").write_text("ignored: not an image extension")
    out = tmp_path / "store"
    assert main(grid_args(images, out, weights, "--shard-size", "3")) == 0
    printed = capsys.readouterr()
    assert "wrote" in printed.out and "7 images, 28 regions, feat_dim 512" in printed.out
    assert "skipped 1 unreadable image(s):" in printed.out and "broken.png" in printed.out
    assert "extract" in printed.err  # the progress bar
    store = NativeImageStore(out)
    assert store.ids() == [f"img{i:03d}" for i in range(7)]
    rec = store.get("img003")
    assert rec.feat.shape == (4, 512) and rec.feat.dtype == np.float16
    np.testing.assert_allclose(rec.boxes[3], [0.5, 0.5, 1, 1, 0.5, 0.5, 0.25])
    meta = store.manifest["meta"]
    assert meta["extraction"]["options"]["route"] == "grid"
    assert [s["id"] for s in meta["skipped"]] == ["broken"]
    assert not (tmp_path / ".store.extract").exists()
    assert main(["data", "validate", str(out)]) == 0
    assert "OK" in capsys.readouterr().out
    # determinism: a second run, cut into other shards, writes the same bytes
    again = tmp_path / "again"
    assert main(grid_args(images, again, weights, "--shard-size", "5", "--no-progress")) == 0
    assert same_store(out, again)


def test_errors_are_clear(tmp_path, weights, capsys):
    images = tmp_path / "images"
    write_images(images, 2)
    missing = tmp_path / "no_such_weights.pth"
    assert main(grid_args(images, tmp_path / "s", missing)) == 2
    assert "no_such_weights.pth does not exist; vlkit never downloads" in capsys.readouterr().err
    assert main(["extract", "--images", str(images), "--out", str(tmp_path / "s"),
                 "--route", "boxes", "--backbone", "synthetic"]) == 2
    assert "--route boxes needs --boxes FILE" in capsys.readouterr().err
    first, second = sorted(images.iterdir())
    first.write_bytes(b"")
    second.write_bytes(b"junk")
    assert main(grid_args(images, tmp_path / "s", weights)) == 2
    assert "no readable image among 2 files" in capsys.readouterr().err
    assert not (tmp_path / "s").exists() and not (tmp_path / ".s.extract").exists()


def world_pngs(folder: Path, seed: int, count: int) -> dict[str, list]:
    """PNGs of world images 0..count-1 and their region boxes in pixels (the world's own)."""
    folder.mkdir(parents=True)
    _, items, pixels = make_images(seed, range(count), get_extractor(8))
    boxes = {}
    for item, image in zip(items, pixels, strict=True):
        Image.fromarray(image).save(folder / f"{item.img_id}.png")
        rng = np.random.default_rng([seed, 0, item.index])  # the world's draws, replayed
        scene = sample_scene(rng)
        render_scene(scene, rng)
        boxes[item.img_id] = region_boxes(scene, rng)[0].tolist()
    return boxes


def test_synthetic_boxes_route_reproduces_the_world_store(world, tmp_path, capsys):
    boxes = world_pngs(tmp_path / "png", seed=0, count=12)
    (tmp_path / "boxes.json").write_text(json.dumps(boxes))
    out = tmp_path / "store"
    assert main(["extract", "--images", str(tmp_path / "png"), "--out", str(out), "--route",
                 "boxes", "--backbone", "synthetic", "--boxes", str(tmp_path / "boxes.json"),
                 "--no-progress"]) == 0
    ours, theirs = NativeImageStore(out), NativeImageStore(world / "img")
    for image_id in ours.ids():
        a, b = ours.get(image_id), theirs.get(image_id)
        np.testing.assert_array_equal(a.feat, b.feat)
        np.testing.assert_array_equal(a.boxes, b.boxes)
    # and one raw image through the API gives the same record
    assert load_options(world / "img")[0].backbone == "synthetic"
    rec = image_record(tmp_path / "png" / "synth-000003.png", extractor_for(world),
                       boxes=boxes["synth-000003"])
    np.testing.assert_array_equal(rec.feat, theirs.get("synth-000003").feat)


def test_train_consumes_an_extracted_store(world, tmp_path, weights, capsys):
    world_pngs(tmp_path / "png", seed=0, count=40)
    store = tmp_path / "grid_store"
    assert main(grid_args(tmp_path / "png", store, weights, "--no-progress")) == 0
    run = tmp_path / "run"
    tiny = ["train.progress=false", "train.precision=fp32", "model.num_layers=1",
            "model.hidden_size=32", "model.num_heads=2", "model.intermediate_size=64",
            "train.batch_size=4", "train.total_steps=2", "train.warmup_steps=1",
            "train.val_every=2", "train.num_threads=1", "data.train_limit=8",
            "model.img_dim=512"]
    assert main(["train", "uniter-tiny-vqa", f"data.root={world}", f"out={run}",
                 f"data.train_img=[{store}]", *tiny]) == 0
    results = json.loads((run / "final_metrics.json").read_text())
    assert "test" in results or "val" in results
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if r["kind"] == "train"][-1] == 2


def extract_cmd(images: Path, out: Path, weights: Path) -> list[str]:
    return [sys.executable, "-m", "vlkit", *grid_args(images, out, weights, "--shard-size",
                                                        "1")]


def test_resume_after_kill(tmp_path, weights):
    images = tmp_path / "images"
    write_images(images, 24, sizes=((32, 32),))  # ~0.1 s each on a loaded 2-core machine
    out = tmp_path / "store"
    work = tmp_path / ".store.extract"
    proc = subprocess.Popen(extract_cmd(images, out, weights), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (work / "shard-00001").exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no shard written in 120 s"
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = sorted(work.glob("shard-*"))
    assert not out.exists() and (work / "job.json").is_file() and 2 <= len(done) < 24
    resumed = subprocess.run(extract_cmd(images, out, weights), capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(done)} done by an earlier run" in resumed.stdout
    assert not work.exists() and not list(tmp_path.glob(".store.partial-*"))
    fresh = tmp_path / "fresh"
    assert main(grid_args(images, fresh, weights, "--shard-size", "1", "--no-progress")) == 0
    assert same_store(out, fresh) and len(NativeImageStore(out)) == 24


def test_resume_refuses_other_options(tmp_path, weights, capsys):
    images = tmp_path / "images"
    write_images(images, 3)
    work = tmp_path / ".store.extract"
    work.mkdir()
    (work / "job.json").write_text(json.dumps({"version": 1, "other": "job"}))
    assert main(grid_args(images, tmp_path / "store", weights)) == 2
    assert "holds an interrupted extraction with other options" in capsys.readouterr().err
