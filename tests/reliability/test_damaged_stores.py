"""Damaged files: a truncated or corrupt store is a one-line error naming the file (and the
record where known), the same for `vlkit data validate` and for training's store reads."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vlkit.cli.main import main
from vlkit.data.stores.native_img import NativeImageStore
from vlkit.utils.errors import DataError


def _validate(capsys, path) -> tuple[int, str]:
    code = main(["data", "validate", str(path)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_truncated_feat_bin_names_the_file(img_store, capsys):
    feat = img_store / "feat.bin"
    feat.write_bytes(feat.read_bytes()[:-16])
    code, text = _validate(capsys, img_store)
    assert code == 2
    assert f"{feat}: 128 bytes, the manifest's 9 regions" in text
    assert "truncated or damaged" in text and "Traceback" not in text


def test_corrupt_index_json_names_the_file(img_store, capsys):
    (img_store / "index.json").write_text('{"img0": [0, 2], "img1": [2')
    code, text = _validate(capsys, img_store)
    assert code == 2 and f"{img_store / 'index.json'}: damaged or not JSON" in text


def test_corrupt_manifest_names_the_file(img_store, capsys):
    (img_store / "manifest.json").write_bytes(b"\xff\xfe garbage")
    code, text = _validate(capsys, img_store)
    assert code == 2 and f"{img_store / 'manifest.json'}: damaged or not JSON" in text


@pytest.mark.parametrize("row", [[-1, 2], [8, 2], [0, "2"]])
def test_index_row_outside_the_arrays_names_the_record(img_store, capsys, row):
    """It used to return another image's regions (a row before the start of feat.bin)."""
    index = json.loads((img_store / "index.json").read_text())
    index["img1"] = row
    index["img2"] = [7, 5]
    (img_store / "index.json").write_text(json.dumps(index))
    code, text = _validate(capsys, img_store)
    assert code == 1  # validate lists every bad row
    assert f"record img1: index.json: index row {row!r} is not [start, num_boxes] inside " \
        "the 9 stored regions" in text
    assert "record img2: index.json: index row [7, 5]" in text
    with pytest.raises(DataError, match="index.json: record 'img1': index row"):
        NativeImageStore(img_store)  # training refuses the store at open


def test_nan_features_are_refused_by_validate_and_by_reads(img_store, capsys):
    start = json.loads((img_store / "index.json").read_text())["img2"][0]
    with open(img_store / "feat.bin", "r+b") as handle:
        handle.seek(start * 8 * 2)  # float16 features
        handle.write(np.float16(np.nan).tobytes())
    code, text = _validate(capsys, img_store)
    assert code == 1 and "record img2: feat: 1 non-finite value(s)" in text
    store = NativeImageStore(img_store)
    store.get("img1")  # the good records still read
    with pytest.raises(DataError, match="record 'img2': field 'feat' has non-finite values"):
        store.get("img2")


def test_records_jsonl_with_bytes_that_are_not_utf8_names_the_line(tmp_path, capsys):
    from vlkit.data.stores.native_txt import NativeTextStore, NativeTextStoreWriter

    path = tmp_path / "txt"
    with NativeTextStoreWriter(path, task="vqa") as writer:
        for i in range(3):
            writer.add({"id": str(i), "input_ids": [101, 102]})
    records = path / "records.jsonl"
    lines = records.read_bytes().splitlines(keepends=True)
    records.write_bytes(lines[0] + b'{"id": "1", "text": "\xff\xfe"}\n' + lines[2])
    with pytest.raises(DataError, match=f"{records} line 2: not UTF-8 text"):
        NativeTextStore(path)
    code, text = _validate(capsys, path)
    assert code == 1 and f"record line 2: record: unreadable: {records} line 2: not UTF-8" in text
