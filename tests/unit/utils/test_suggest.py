from __future__ import annotations

from pathlib import Path

from vlkit.utils.suggest import missing_path


def test_missing_path_names_the_path_and_near_matches(tmp_path: Path) -> None:
    (tmp_path / "runs" / "quickstart" / "vqa_pretrained" / "model").mkdir(parents=True)
    (tmp_path / "runs" / "quickstart" / "vqa_scratch").mkdir()
    typo = tmp_path / "runs" / "quickstart" / "vqa_pretraind"
    assert missing_path(typo) == (f"no such file or folder: {typo} (did you mean "
                                  f"{tmp_path}/runs/quickstart/vqa_pretrained?)")
    # A typo higher up keeps the rest of the path in the suggestion.
    assert missing_path(tmp_path / "runs" / "quickstrat" / "vqa_scratch").endswith(
        f"(did you mean {tmp_path}/runs/quickstart/vqa_scratch?)")
    # Nothing close: the folder's few entries are listed.
    assert missing_path(tmp_path / "runs" / "quickstart" / "zzz").endswith(
        "quickstart holds: vqa_pretrained, vqa_scratch)")
