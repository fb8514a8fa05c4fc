"""`vlkit list configs`: one line per preset with its recipe and a short description."""

from __future__ import annotations

import pytest

from vlkit.cli.main import main
from vlkit.config import preset_names, preset_summary


def test_every_preset_has_a_short_summary() -> None:
    for name in preset_names():
        summary = preset_summary(name)
        assert summary and len(summary) <= 72, name
        if "tiny" in name:
            assert "synthetic world" in summary or "region descriptions" in summary, name


def test_list_configs_prints_the_summaries(capsys: pytest.CaptureFixture) -> None:
    assert main(["list", "configs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(preset_names())
    assert "uniter-tiny-vqa              vqa             tiny UNITER VQA, synthetic world " \
           "(the quickstart's)" in lines
