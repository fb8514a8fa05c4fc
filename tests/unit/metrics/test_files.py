"""Shared readers of metric input files: errors name the file, the line and what was wanted."""

from __future__ import annotations

from pathlib import Path

import pytest

from vlkit.metrics.files import existing_file, iter_json_lines, iter_lines, load_json
from vlkit.utils.errors import DataError


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"NLVR2 predictions file not found: "
                                        r"no such file or folder: .*nope\.csv"):
        existing_file(tmp_path / "nope.csv", "NLVR2 predictions file")
    with pytest.raises(DataError, match=r"VCR annotation file not found: "
                                        r"no such file or folder: .*nope\.jsonl"):
        list(iter_json_lines(tmp_path / "nope.jsonl", "VCR annotation file"))


def test_blank_lines_are_skipped_and_numbered_from_one(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text('{"a": 1}\n\n  \n[2]\n', encoding="utf-8")
    assert [n for n, _ in iter_lines(path, "file")] == [1, 4]
    assert list(iter_json_lines(path, "file")) == [(1, {"a": 1}), (4, [2])]


def test_bad_json_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "b.jsonl"
    path.write_text('{"a": 1}\n{oops\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"b\.jsonl: line 2: not valid JSON"):
        list(iter_json_lines(path, "file"))
    whole = tmp_path / "c.json"
    whole.write_bytes(b"\xff\xfe{")
    with pytest.raises(DataError, match=r"c\.json: not valid JSON"):
        load_json(whole, "file")
    whole.write_text('{"k": [1, 2]}', encoding="utf-8")
    assert load_json(whole, "file") == {"k": [1, 2]}
