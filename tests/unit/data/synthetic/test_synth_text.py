"""Text stores of a built world: schema, tokens, image splits, grounding of labels."""

from __future__ import annotations

import numpy as np

from vlkit.data.schemas import check_record
from vlkit.data.stores.native_img import NativeImageStore
from vlkit.data.stores.native_txt import NativeTextStore
from vlkit.data.synthetic.scene import COLOURS, SHAPES, SIZES, sample_scene
from vlkit.data.synthetic.world import SPLITS, STORE_TASK, TASKS
from vlkit.text.tokenizer import get_tokenizer


def _store(path, task, split):
    return NativeTextStore(path / "txt" / f"{task}_{split}")


def _img_ids(rec: dict) -> list[str]:
    return rec["img_ids"] if "img_ids" in rec else [rec["img_id"]]


def test_every_record_fits_the_schema_and_its_tokens(synth_world):
    path, manifest = synth_world
    tok = get_tokenizer("synthetic-world")
    images = NativeImageStore(path / "img")
    for task in TASKS:
        for split in SPLITS:
            store = _store(path, task, split)
            assert store.task == STORE_TASK.get(task, task)
            assert len(store) == manifest["counts"][task][split] > 0
            for rec in store:
                assert check_record(STORE_TASK.get(task, task), rec) == [], (task, rec["id"])
                assert rec["input_ids"] == tok.encode(rec["text"])
                assert tok.unk_id not in rec["input_ids"]
                assert all(i in images for i in _img_ids(rec))


def test_splits_are_disjoint_by_image(synth_world):
    path, manifest = synth_world
    for task in TASKS:
        seen = {s: {i for r in _store(path, task, s) for i in _img_ids(r)} for s in SPLITS}
        assert not seen["train"] & seen["val"]
        assert not seen["train"] & seen["test"]
        assert not seen["val"] & seen["test"]
    test_ids = {r["img_id"] for r in _store(path, "vqa", "test")}
    assert manifest["splits"]["test"]["last"] in test_ids


def test_vqa_targets_match_answers_and_vocabulary(synth_world):
    path, _ = synth_world
    store = _store(path, "vqa", "train")
    ans2label, label2ans = store.meta["ans2label"], store.meta["label2ans"]
    for rec in store:
        assert len(set(rec["answers"])) == 1
        assert label2ans[rec["target"]["labels"][0]] == rec["answers"][0]
        assert ans2label[rec["answers"][0]] == rec["target"]["labels"][0]


def test_refer_target_is_a_region_of_that_class(synth_world):
    path, _ = synth_world
    images = NativeImageStore(path / "img")
    for split in SPLITS:
        for rec in _store(path, "refer", split):
            img = images.get(rec["img_id"])
            region = rec["target_region"]
            np.testing.assert_allclose(img.boxes[region, :4], rec["target_box"], atol=1e-5)
            assert int(np.argmax(img.soft_labels[region])) == rec["category_id"]
            assert rec["text"].startswith("the ")


def test_vcr_references_point_at_object_regions(synth_world):
    path, _ = synth_world
    tok = get_tokenizer("synthetic-world")
    for rec in _store(path, "vcr", "val"):
        ref = rec["question"][-2]
        assert isinstance(ref, list) and rec["objects"][ref[0]] != "background"
        pieces = [i for i, o in zip(rec["question_ids"], rec["question_obj"], strict=True)
                  if o == ref[0]]
        assert pieces == tok.encode(rec["objects"][ref[0]])
        assert len(rec["answer_choices"]) == len(rec["rationale_choices"]) == 4
        # the right rationale repeats the right answer's colour
        colour = rec["answer_choices"][rec["answer_label"]][2]
        assert rec["rationale_choices"][rec["rationale_label"]][2] == colour


def test_vcr_questions_single_their_object_out(synth_world):
    """The question's words (shape, or size and shape) fit exactly one object of the scene,
    whose colour is the right answer: image + question decide it. No rationale names an
    object fitting those words (the right one cannot, so text alone would tell)."""
    path, manifest = synth_world
    records = [rec for split in SPLITS for rec in _store(path, "vcr", split)]
    assert len(records) > 0.8 * manifest["num_images"]
    for rec in records:
        scene = sample_scene(np.random.default_rng([manifest["seed"], 0,
                                                    int(rec["img_id"].split("-")[1])]))
        *_, size, ref, _ = rec["question"]
        shape = SHAPES.index(rec["objects"][ref[0]])
        want = {"shape": shape, "size": SIZES.index(size) if size in SIZES else None}
        assert scene.count(**want) == 1, rec["text"]
        k = next(k for k in range(scene.num_objects)
                 if scene.shape[k] == shape and want["size"] in (None, scene.size[k]))
        assert rec["answer_choices"][rec["answer_label"]][2] == COLOURS[scene.colour[k]]
        for choice in rec["rationale_choices"]:  # none names an object the question could
            r_size, _, r_shape, _ = choice[-4:]
            assert not (r_shape == SHAPES[shape] and size in (r_size, "the")), choice


def test_nlvr2_pairs_share_a_sentence(synth_world):
    path, _ = synth_world
    records = list(_store(path, "nlvr2", "train"))
    by_sentence: dict[str, set] = {}
    for rec in records:
        parts = rec["id"].split("-")
        assert parts[0] == "train" and len(parts) == 4
        by_sentence.setdefault(f"{parts[1]}", set()).add(rec["text"])
        assert rec["img_ids"][0] != rec["img_ids"][1]
    assert all(len(texts) == 1 for texts in by_sentence.values())
