"""Names from file contents never escape the output folder: a refs file whose `split` is an
absolute path, `..` or holds a separator is an error naming the ref, and nothing is written."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from vlkit.cli.main import main
from vlkit.utils.errors import DataError
from vlkit.utils.paths import safe_name


def _refcoco(tmp_path, split: str):
    refs = [{"ref_id": 0, "ann_id": 1, "image_id": 7, "split": "train", "category_id": 1,
             "sentences": [{"sent_id": 0, "sent": "the red car", "raw": "the red car"}]},
            {"ref_id": 1, "ann_id": 1, "image_id": 7, "split": split, "category_id": 1,
             "sentences": [{"sent_id": 1, "sent": "a car", "raw": "a car"}]}]
    instances = {"images": [{"id": 7, "width": 100, "height": 50}],
                 "annotations": [{"id": 1, "image_id": 7, "bbox": [10, 10, 20, 20],
                                  "category_id": 1}],
                 "categories": [{"id": 1, "name": "car"}]}
    refs_path, inst_path = tmp_path / "refs(unc).p", tmp_path / "instances.json"
    refs_path.write_bytes(pickle.dumps(refs, protocol=2))
    inst_path.write_text(json.dumps(instances))
    return refs_path, inst_path


@pytest.mark.parametrize("split", ["../escaped", "/tmp/vlkit-escaped-abs", "a/b", "..", ""])
def test_crafted_split_is_refused_naming_the_ref(tmp_path, capsys, split):
    refs, inst = _refcoco(tmp_path, split)
    out = tmp_path / "deep" / "refcoco"
    code = main(["data", "import", "refcoco", "--refs", str(refs), "--instances", str(inst),
                 "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{refs}: ref 1: field 'split': {split!r} cannot be used as a file or folder" in err
    assert not out.exists() and not (tmp_path / "deep" / "escaped").exists()
    assert not Path("/tmp/vlkit-escaped-abs").exists()


def test_plain_names_pass():
    assert safe_name("testA", "x") == "testA" and safe_name("img.0001", "x") == "img.0001"
    with pytest.raises(DataError, match=r"x: 'C:\\\\evil'"):
        safe_name("C:\\evil", "x")
