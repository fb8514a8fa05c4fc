"""Silent corruption in text stores: `vlkit data validate` and `vlkit train` refuse the same
records (token ids past the vocabulary, VQA answer labels past the answer vocabulary,
duplicate record ids), each naming the record."""

from __future__ import annotations

import json
import shutil

import pytest

from vlkit.cli.main import main


def _corrupt(world, tmp_path, edit) -> tuple:
    """A copy of the world whose vqa_train store has record "3" changed by `edit`."""
    root = tmp_path / "world"
    (root / "txt").mkdir(parents=True)
    (root / "img").symlink_to(world / "img")
    shutil.copy(world / "manifest.json", root / "manifest.json")
    for split in ("train", "val", "test"):
        shutil.copytree(world / "txt" / f"vqa_{split}", root / "txt" / f"vqa_{split}")
    path = root / "txt" / "vqa_train" / "records.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows = edit(rows, next(i for i, r in enumerate(rows) if r["id"] == "3"))
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root, root / "txt" / "vqa_train"


def _too_high_token(rows, i):
    rows[i]["input_ids"][2] = 10**6
    return rows


def _too_high_label(rows, i):
    rows[i]["target"] = {"labels": [10**4], "scores": [1.0]}
    return rows


def _duplicate(rows, i):
    return rows + [dict(rows[i], text="a second record with id 3")]


CASES = {"token": (_too_high_token, "record 3: input_ids: 1 token id(s) outside the vocabulary",
                   "record '3': input_ids: 1 token id(s) outside the vocabulary"),
         "label": (_too_high_label, "record 3: target.labels: 1 label(s) outside the answer",
                   "record '3': target.labels: 1 label(s) outside the answer"),
         "duplicate": (_duplicate, "record 3: id: duplicate record id",
                       "duplicate record id '3'")}


@pytest.mark.parametrize("case", sorted(CASES))
def test_validate_and_train_refuse_the_same_record(world, tiny, tmp_path, capsys, case):
    edit, validate_says, train_says = CASES[case]
    root, store = _corrupt(world, tmp_path, edit)
    assert main(["data", "validate", str(store)]) == 1
    assert validate_says in capsys.readouterr().out
    run = tmp_path / "run"
    code = main(["train", "uniter-tiny-vqa", f"data.root={root}", f"out={run}",
                 "train.total_steps=2", *tiny])
    err = capsys.readouterr().err
    assert code == 2 and train_says in err and str(store) in err, err
    assert not run.exists()
