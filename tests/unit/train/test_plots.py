"""Run plots: panel order, which series are smoothed, and that the PNGs are written."""

from __future__ import annotations

import json
from pathlib import Path

from vlkit.train.plots import is_noisy, panel_order, plot_comparison, plot_curves, smooth

PNG = b"\x89PNG\r\n\x1a\n"


def _metrics(run: Path, val: list[float]) -> None:
    run.mkdir(parents=True)
    rows = [{"step": s, "kind": "train", "loss": 5 / s, "acc": (s % 2) * 0.5, "lr": 1e-4}
            for s in range(1, 31)]
    rows += [{"step": 10 * (i + 1), "kind": "val", "acc": v} for i, v in enumerate(val)]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (run / "config.yaml").write_text("recipe: vqa\n")


def test_losses_first_then_metrics_then_the_optimiser() -> None:
    assert panel_order(["samples_per_s", "lr", "vqa_acc", "mlm_loss", "loss", "grad_norm"]) \
        == ["loss", "mlm_loss", "vqa_acc", "lr", "grad_norm", "samples_per_s"]


def test_only_zig_zagging_series_are_smoothed() -> None:
    zigzag = [0.0, 1.0] * 10
    assert is_noisy(zigzag) and not is_noisy([5 / s for s in range(1, 21)])
    assert not is_noisy([1e-4 * (20 - s) for s in range(20)]) and not is_noisy(zigzag[:6])
    assert smooth([0.0, 3.0, 0.0, 3.0]) == [1.5, 1.0, 2.0, 1.5]


def test_curves_and_comparison_pngs(tmp_path: Path) -> None:
    _metrics(tmp_path / "a", [0.2, 0.4, 0.5])
    _metrics(tmp_path / "b", [0.1, 0.2, 0.2])
    assert plot_curves(tmp_path / "a").read_bytes()[:8] == PNG
    out = plot_comparison({"a": tmp_path / "a", "b": tmp_path / "b"}, "acc",
                          tmp_path / "comparison.png", "a vs b")
    assert out.read_bytes()[:8] == PNG
    assert plot_comparison({"a": tmp_path / "a"}, "bleu", tmp_path / "none.png", "x") is None
