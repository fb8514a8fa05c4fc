"""UNITER's released databases, read as they are, in the recipes: `vlkit train`, `vlkit eval`
and `vlkit predict` on a txt_db + img_db (../shared/fixtures/uniter_db: written by UNITER's own
prepro.py and convert_imgdir.py; the other tasks' txt_dbs are written here in UNITER's layout
over the fixture's images, tests/uniter_db_helpers.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from uniter_db_helpers import (
    FIXTURE_IMG,
    FIXTURE_TXT,
    copy_txt_db,
    fixture_images,
    write_txt_db,
)

from vlkit.cli.main import main
from vlkit.data.datasets.pair import ImageLookup
from vlkit.data.stores.open import open_text_source
from vlkit.data.stores.uniter_img_db import UniterImageStore
from vlkit.data.stores.uniter_txt_db import UniterTextStore
from vlkit.metrics.nlvr2 import nlvr2_metrics, read_nlvr2_predictions
from vlkit.metrics.refer import pairwise_box_iou
from vlkit.text.tokenizer import get_tokenizer

TINY = ["train.progress=false", "train.precision=fp32", "train.log_every=1",
        "model.num_layers=1", "model.hidden_size=32", "model.num_heads=2",
        "model.intermediate_size=64", "train.batch_size=4", "train.total_steps=3",
        "train.warmup_steps=1", "train.num_threads=1", "train.val_every=3",
        "train.ckpt_every=3", "model.img_dim=2048", "model.img_label_dim=1601"]


def _train(preset: str, run: Path, *extra: str) -> dict:
    assert main(["train", preset, f"out={run}", *TINY, "data.test_txt=[]", *extra]) == 0
    return json.loads((run / "final_metrics.json").read_text())


def _train_steps(run: Path) -> list[int]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [r["step"] for r in rows if r["kind"] == "train"]


def _predict(capsys, task: str, run: Path, flag: str, text: str, img_ids: list[str],
             img_db: Path, *extra: str) -> tuple[int, dict | str]:
    capsys.readouterr()
    args = ["predict", task, "--checkpoint", str(run), flag, text, "--img-store", str(img_db)]
    for img in img_ids:
        args += ["--img-id", img]
    rc = main([*args, *extra])
    out = capsys.readouterr()
    return rc, json.loads(out.out) if rc == 0 else out.err


@pytest.fixture(scope="module")
def nlvr2_db(fixtures_dir) -> tuple[Path, Path, list[str]]:
    """(the fixture's txt_db, its img_db, ids of the records whose two images it holds)."""
    txt, img = fixtures_dir / FIXTURE_TXT, fixtures_dir / FIXTURE_IMG
    have = set(fixture_images(fixtures_dir))
    store = UniterTextStore(txt)
    covered = [rid for rid in store.ids() if set(store.txt2img[rid]) <= have]
    assert len(covered) == 20 and covered[:18] == store.ids()[:18]
    return txt, img, covered


def test_nlvr2_trains_evaluates_predicts_on_uniter_dbs(nlvr2_db, tmp_path, capsys):
    txt, img, covered = nlvr2_db
    val = copy_txt_db(txt, tmp_path / "nlvr2_dev_covered.db", covered)
    run = tmp_path / "run"
    # the preset's synthetic-world vocabulary and sizes: the txt_db's meta.json replaces them
    results = _train("uniter-tiny-nlvr2", run, f"data.train_txt=[{txt}]", "data.train_limit=18",
                     f"data.train_img=[{img}]", f"data.val_txt=[{val}]")
    assert _train_steps(run) == [1, 2, 3] and results["num_train_examples"] == 18
    saved = yaml.safe_load((run / "model" / "config.yaml").read_text())
    assert saved["text"]["vocab"] == "bert-base-uncased"
    assert saved["model"]["vocab_size"] == 30522

    assert main(["eval", str(run), f"out={tmp_path / 'eval'}"]) == 0
    path = tmp_path / "eval" / "predictions" / "nlvr2_val.csv"
    predictions = read_nlvr2_predictions(path)
    assert sorted(predictions) == sorted(covered)
    store = UniterTextStore(txt)
    labels = {rid: store.get(rid)["target"] == 1 for rid in covered}
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["val"]["accuracy"] == pytest.approx(
        nlvr2_metrics(labels, predictions)["accuracy"])

    record = store.get(covered[0])
    # the run recorded the fixture's tokenizer: predict encodes new text as prepro.py did
    assert get_tokenizer("bert-base-uncased").encode(record["sentence"]) == record["input_ids"]
    rc, out = _predict(capsys, "nlvr2", run, "--statement", record["sentence"],
                       record["img_fname"], img)
    assert rc == 0 and out["img_ids"] == record["img_fname"]
    assert isinstance(out["prediction"], bool) and 0.0 < out["p_true"] < 1.0


def test_a_record_whose_image_is_missing_is_an_error(nlvr2_db, fixtures_dir, tmp_path, capsys):
    txt, img, covered = nlvr2_db
    store = UniterTextStore(txt)
    rid = next(r for r in store.ids() if r not in covered)
    missing = next(f for f in store.txt2img[rid] if f not in fixture_images(fixtures_dir))
    capsys.readouterr()
    rc = main(["train", "uniter-tiny-nlvr2", f"out={tmp_path / 'run'}", *TINY,
               f"data.train_txt=[{txt}]", f"data.val_txt=[{txt}]", f"data.train_img=[{img}]"])
    err = capsys.readouterr().err
    assert rc == 2
    assert f"record '{rid}' names image '{missing}'" in err and str(txt) in err


def _cased_vocab(path: Path) -> Path:
    """A 28,996-line vocab.txt laid out like bert-base-cased's ([PAD] 0, [UNK] 100, [CLS] 101,
    [SEP] 102, [MASK] 103, "!" 999, cased words after)."""
    tokens = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]",
                                                               "[MASK]"]
    tokens += [f"[unused{i}]" for i in range(99, 99 + 999 - len(tokens))] + ["!"]
    words = ["The", "the", "right", "image", "shows", "dog", "Two", "dogs", "."]
    tokens += words + [f"w{i}" for i in range(28996 - len(tokens) - len(words))]
    path.write_text("\n".join(tokens) + "\n")
    return path


def test_cased_ids_train_without_a_vocab_and_predict_only_with_theirs(nlvr2_db, tmp_path,
                                                                      capsys):
    txt, img, covered = nlvr2_db
    store = UniterTextStore(txt)
    records = {}
    for rid in covered:
        rec = store.get(rid)
        rec.pop("id")
        rec["input_ids"] = [1000 + t % 27996 for t in rec["input_ids"]]  # cased-vocabulary ids
        records[rid] = rec
    meta = {"bert": "bert-base-cased", "UNK": 100, "CLS": 101, "SEP": 102, "MASK": 103,
            "v_range": [999, 28996]}
    cased = write_txt_db(tmp_path / "nlvr2_cased.db", records, "nlvr", meta)
    run = tmp_path / "run"
    _train("uniter-tiny-nlvr2", run, f"data.train_txt=[{cased}]", f"data.val_txt=[{cased}]",
           f"data.train_img=[{img}]", "train.total_steps=2", "train.val_every=2")
    saved = yaml.safe_load((run / "model" / "config.yaml").read_text())
    assert (saved["text"]["vocab"], saved["model"]["vocab_size"]) == ("bert-base-cased", 28996)

    pair = store.txt2img[covered[0]]
    rc, err = _predict(capsys, "nlvr2", run, "--statement", "Two dogs.", pair, img)
    assert rc == 2 and "'bert-base-cased' (28,996 tokens)" in err
    assert "text.vocab=PATH/vocab.txt" in err
    rc, err = _predict(capsys, "nlvr2", run, "--statement", "Two dogs.", pair, img,
                       "text.vocab=bert-base-uncased")
    assert rc == 2 and "has 30,522 tokens" in err
    vocab = _cased_vocab(tmp_path / "vocab.txt")
    rc, out = _predict(capsys, "nlvr2", run, "--statement", "Two dogs.", pair, img,
                       f"text.vocab={vocab}")
    assert rc == 0 and isinstance(out["prediction"], bool)


@pytest.fixture(scope="module")
def captions(nlvr2_db) -> dict[str, dict]:
    """One UNITER record per (covered NLVR2 sentence, image): 40 texts over the fixture's 20
    images, fields `input_ids` and `img_fname` (a single file name) as in UNITER's txt_dbs."""
    txt, _, covered = nlvr2_db
    store = UniterTextStore(txt)
    out = {}
    for k, rid in enumerate(covered):
        rec = store.get(rid)
        for side, fname in enumerate(rec["img_fname"]):
            out[str(1000 + 2 * k + side)] = {"input_ids": rec["input_ids"], "img_fname": fname}
    return out


def test_vqa_on_uniter_dbs(nlvr2_db, captions, tmp_path, capsys):
    _, img, _ = nlvr2_db
    answers = ["yes", "no", "two"]
    records = {qid: {**rec, "question": "?", "target": {
        "labels": [k % 3, (k + 1) % 3], "scores": [1.0, 0.3]}}
        for k, (qid, rec) in enumerate(captions.items())}
    (tmp_path / "ans2label.json").write_text(json.dumps({a: k for k, a in enumerate(answers)}))
    db = write_txt_db(tmp_path / "vqa_devval.db", records)
    run = tmp_path / "run"
    results = _train("uniter-tiny-vqa", run, f"data.train_txt=[{db}]", f"data.val_txt=[{db}]",
                     f"data.train_img=[{img}]")
    assert _train_steps(run) == [1, 2, 3] and results["num_train_questions"] == 40
    assert main(["eval", str(run), f"out={tmp_path / 'eval'}"]) == 0
    written = json.loads((tmp_path / "eval" / "predictions" / "vqa_val.json").read_text())
    assert sorted(p["question_id"] for p in written) == sorted(int(q) for q in records)
    assert {p["answer"] for p in written} <= set(answers)
    rc, out = _predict(capsys, "vqa", run, "--question", "is there a dog ?",
                       [captions["1000"]["img_fname"]], img)
    assert rc == 0 and [a["answer"] for a in out["answers"]] != []
    assert {a["answer"] for a in out["answers"]} == set(answers)

    (tmp_path / "ans2label.json").unlink()  # training needs the answer vocabulary
    rc = main(["train", "uniter-tiny-vqa", f"out={tmp_path / 'run2'}", *TINY,
               f"data.train_txt=[{db}]", f"data.val_txt=[{db}]", f"data.train_img=[{img}]"])
    assert rc == 2 and "ans2label.json" in capsys.readouterr().err


def test_ve_on_uniter_dbs(nlvr2_db, captions, tmp_path, capsys):
    _, img, _ = nlvr2_db
    records = {rid: {**rec, "target": {"labels": [k % 3], "scores": [1.0]}}
               for k, (rid, rec) in enumerate(captions.items())}
    db = write_txt_db(tmp_path / "ve_dev.db", records)
    run = tmp_path / "run"
    results = _train("uniter-tiny-ve", run, f"data.train_txt=[{db}]", f"data.val_txt=[{db}]",
                     f"data.train_img=[{img}]")
    assert _train_steps(run) == [1, 2, 3] and results["num_train_examples"] == 40
    names = ("contradiction", "entailment", "neutral")  # UNITER's VE_IDX2ENT order
    lines = (run / "predictions" / "ve_val.csv").read_text().splitlines()
    assert lines[0] == "id,label" and sorted(line.split(",")[0] for line in lines[1:]) == \
        sorted(records)
    gold = {rid: names[rec["target"]["labels"][0]] for rid, rec in records.items()}
    correct = sum(gold[rid] == name for rid, name in (line.split(",") for line in lines[1:]))
    assert results["val"]["accuracy"] == pytest.approx(correct / len(records))
    rc, out = _predict(capsys, "ve", run, "--hypothesis", "there is a dog .",
                       [captions["1001"]["img_fname"]], img)
    assert rc == 0 and out["label"] in names and set(out["scores"]) == set(names)


def test_itm_retrieval_on_uniter_dbs(nlvr2_db, captions, tmp_path, capsys):
    _, img, _ = nlvr2_db
    db = write_txt_db(tmp_path / "itm_flickr_val.db", captions)
    run = tmp_path / "run"
    _train("uniter-tiny-itm", run, f"data.train_txt=[{db}]", f"data.val_txt=[{db}]",
           f"data.train_img=[{img}]")
    assert _train_steps(run) == [1, 2, 3]
    rankings = json.loads((run / "predictions" / "itm_val.json").read_text())
    assert sorted(rankings["txt2img"]) == sorted(captions)
    assert set(rankings["img2txt"]) == {rec["img_fname"] for rec in captions.values()}
    rc, out = _predict(capsys, "itm", run, "--caption", "a dog .",
                       [captions["1000"]["img_fname"]], img)
    assert rc == 0 and 0.0 < out["sigmoid_score"] < 1.0


def test_pretrain_on_uniter_dbs(nlvr2_db, captions, tmp_path, capsys):
    _, img, _ = nlvr2_db
    db = write_txt_db(tmp_path / "pretrain_coco_val.db", captions)
    run = tmp_path / "run"
    _train("uniter-tiny-pretrain", run, f"data.train_txt=[{db}]", f"data.val_txt=[{db}]",
           f"data.train_img=[{img}]", "data.tasks={mlm: 1, mrfr: 1, mrc-kl: 1, itm: 1}")
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    train_rows = [r for r in rows if r["kind"] == "train"]
    assert [r["step"] for r in train_rows] == [1, 2, 3]
    assert any("mlm_loss" in r for r in rows)
    # MLM masks with meta.json's [MASK] and draws random tokens from its v_range
    from vlkit.config import load_config
    from vlkit.runs.loaders import mlm_masker

    cfg = load_config(str(run / "config.yaml"))
    masker = mlm_masker(cfg, [])
    assert (masker.mask_id, masker.vocab_range) == (103, (999, 30522))

    # the img_db's 1601 soft-label classes are checked before any MRC loss sees them
    rc = main(["train", "uniter-tiny-pretrain", f"out={tmp_path / 'run2'}", *TINY,
               f"data.train_txt=[{db}]", "data.val_txt=[]", f"data.train_img=[{img}]",
               "model.img_label_dim=7"])
    assert rc == 2 and "set model.img_label_dim=1601" in capsys.readouterr().err


def test_re_on_uniter_dbs(nlvr2_db, captions, tmp_path, capsys):
    """UNITER's re txt_db (prepro.py --task re): records sent_id, ref_id, ann_id, image_id,
    bbox (x, y, w, h pixels), input_ids, img_fname; images.json lists each image's ann_ids in
    the order of its gt img_db regions, and its width / height."""
    _, img, _ = nlvr2_db
    img_store = UniterImageStore(img / "feat_th0.2_max100_min10")
    fnames = sorted({rec["img_fname"] for rec in captions.values()})
    images, records, boxes = [], {}, {}
    for image_id, fname in enumerate(fnames):
        regions = img_store.get(fname).boxes
        images.append({"id": image_id, "file_name": fname, "width": 640, "height": 480,
                       "ann_ids": [100 * image_id + k for k in range(len(regions))]})
        for k in (1, 2):  # two expressions per image, about regions 1 and 2
            x1, y1, x2, y2 = (float(v) for v in regions[k, :4])
            sent_id = 10 * image_id + k
            records[str(sent_id)] = {
                "sent_id": sent_id, "sent": "the dog", "ref_id": sent_id, "image_id": image_id,
                "ann_id": 100 * image_id + k, "input_ids": [1996, 3899],
                "bbox": [x1 * 640, y1 * 480, (x2 - x1) * 640, (y2 - y1) * 480],
                "img_fname": fname}
            boxes[sent_id] = [x1, y1, x2, y2]
    db = write_txt_db(tmp_path / "re_refcoco_val.db", records, "re",
                      side={"images": images, "refs": [], "annotations": [], "categories": []})
    run = tmp_path / "run"
    _train("uniter-tiny-re", run, f"data.train_txt=[{db}]", f"data.val_txt=[{db}]",
           f"data.train_img=[{img}]")
    assert _train_steps(run) == [1, 2, 3]
    written = json.loads((run / "predictions" / "re_val.json").read_text())
    assert sorted(p["id"] for p in written) == sorted(records)
    # the target is the ann_id's region, its box the bbox normalised by images.json's size
    view = open_text_source(db, "refer")
    for rid, rec in records.items():
        got = view.get(rid)
        assert got["target_region"] == rec["ann_id"] % 100
        assert got["target_box"] == pytest.approx(boxes[rec["sent_id"]], abs=1e-6)
    iou = [float(pairwise_box_iou(torch.tensor([p["box"]]),
                                  torch.tensor([boxes[int(p["id"])]]))[0, 0]) for p in written]
    results = json.loads((run / "final_metrics.json").read_text())
    assert results["val"]["accuracy"] == pytest.approx(sum(v >= 0.5 for v in iou) / len(iou))
    rc, out = _predict(capsys, "re", run, "--expression", "the dog", [fnames[0]], img)
    assert rc == 0 and 0 <= out["region"] < img_store.num_boxes(fnames[0])


def test_vcr_on_uniter_dbs(nlvr2_db, tmp_path, capsys):
    """UNITER's vcr txt_db: input_ids (question), input_ids_as / input_ids_rs (4 answers / 4
    rationales), qa_target, qar_target, img_fname [gt, det]: the regions are the gt img_db's
    then the det img_db's (here the fixture's two variants), as UNITER concatenates them."""
    txt, img, covered = nlvr2_db
    store = UniterTextStore(txt)
    gt_db, det_db = img / "feat_th0.2_max100_min10", img / "feat_th0.2_max100_min10_compressed"
    records = {}
    for k, rid in enumerate(covered):
        ids = store.get(rid)["input_ids"]
        records[f"val-{k}"] = {
            "input_ids": ids[:6], "input_ids_as": [ids[a:a + 4] for a in range(4)],
            "input_ids_rs": [ids[r + 4:r + 9] for r in range(4)], "qa_target": k % 4,
            "qar_target": (k + 1) % 4, "img_fname": store.txt2img[rid]}
    db = write_txt_db(tmp_path / "vcr_val.db", records)
    run = tmp_path / "run"
    results = _train("uniter-tiny-vcr", run, f"data.train_txt=[{db}]", f"data.val_txt=[{db}]",
                     f"data.train_img=[{gt_db},{det_db}]")
    assert _train_steps(run) == [1, 2, 3] and results["num_train_examples"] == 2 * len(records)
    lines = (run / "predictions" / "vcr_val.csv").read_text().splitlines()
    assert sorted(line.split(",")[0] for line in lines[1:]) == sorted(records)
    assert set(results["val"]) >= {"q2a", "qa2r", "q2ar"}

    view = open_text_source(db, "vcr")
    first = view.get("val-0")
    gt, det = store.txt2img[covered[0]]
    assert first["img_id"] == f"{gt}+{det}" and first["answer_label"] == 0
    joined = ImageLookup([UniterImageStore(gt_db), UniterImageStore(det_db)], db)
    regions = joined.store(first["img_id"]).get(first["img_id"])
    gt_regions = UniterImageStore(gt_db).get(gt)
    assert regions.feat.shape[0] == gt_regions.num_boxes + UniterImageStore(det_db).num_boxes(det)
    assert (regions.boxes[:gt_regions.num_boxes] == gt_regions.boxes).all()

    capsys.readouterr()
    args = ["predict", "vcr", "--checkpoint", str(run), "--question", "what is it ?",
            "--img-store", str(gt_db), "--img-store", str(det_db), "--img-id", first["img_id"]]
    for k in range(4):
        args += ["--answer", f"a dog {k} .", "--rationale", f"it is {k} ."]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["answer"] in range(4) and len(out["rationale_probs"]) == 4

    # UNITER's second-stage pre-training reads the same txt_db (pretrain_vcr.py)
    pre = tmp_path / "pretrain"
    _train("uniter-tiny-vcr-pretrain", pre, f"data.train_txt=[{db}]", f"data.val_txt=[{db}]",
           f"data.train_img=[{gt_db},{det_db}]")
    assert _train_steps(pre) == [1, 2, 3]
