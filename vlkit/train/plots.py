"""PNG plots of runs, from their metrics.jsonl.

    plot_curves(run_dir)                      # RUN/plots/curves.png
    plot_comparison({"pre-trained": a, "scratch": b}, "vqa_acc", out_png, title)

`curves.png` has one panel per metric name, losses first, then the task metrics, then the
optimiser's lr, grad_norm and throughput; the training and validation series of the same
name share a panel. A noisy series (one that zig-zags: `is_noisy`) is drawn faintly as logged
with a light centred moving average over it, so the trend reads at a glance without lagging.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path

import yaml

from vlkit.train.writers import read_metrics
from vlkit.utils.atomic import atomic_write

LAST = ("lr", "grad_norm", "samples_per_s")  # optimiser and speed panels go last
SMOOTH_FROM = 12  # points a series needs before it is smoothed
NOISY = 0.12  # mean |step-to-step change| / range above which a series counts as noisy
COLOURS = {"train": "#1f77b4", "val": "#d62728"}
Series = list[tuple[int, float]]


def _by_name(rows: list[dict]) -> dict[str, dict[str, Series]]:
    """{metric name: {kind: [(step, value)]}} of every numeric value."""
    out: dict[str, dict[str, Series]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        for key, value in row.items():
            if key in ("step", "time", "kind") or isinstance(value, bool):
                continue
            if isinstance(value, (int, float)):
                out[key][row.get("kind", "train")].append((row["step"], float(value)))
    return out


def panel_order(names: list[str]) -> list[str]:
    """Losses (the total first), task metrics, then lr, grad_norm, samples_per_s."""
    def key(name: str) -> tuple:
        if name in LAST:
            return (2, LAST.index(name), name)
        if name.endswith("loss"):
            return (0, name != "loss", name)
        return (1, 0, name)
    return sorted(names, key=key)


def is_noisy(values: list[float]) -> bool:
    """Whether consecutive values jump by much of the series' range (accuracy of small
    batches, throughput) rather than drifting (lr, a falling loss)."""
    if len(values) < SMOOTH_FROM:
        return False
    spread = max(values) - min(values)
    jumps = sum(abs(b - a) for a, b in zip(values, values[1:], strict=False))
    return spread > 0 and jumps / (len(values) - 1) / spread > NOISY


def smooth(values: list[float]) -> list[float]:
    """Centred moving average over about 1/15 of the series (at least 3 points), the window
    shrinking at the ends: light, and without the lag of a running average."""
    half = max(1, len(values) // 30)
    return [sum(values[max(0, i - half):i + half + 1]) / len(values[max(0, i - half):i + half + 1])
            for i in range(len(values))]


def _draw(ax, kind: str, points: Series) -> bool:
    """Plot one series; True when it was smoothed."""
    steps, values = zip(*points, strict=True)
    colour = COLOURS.get(kind, "#2ca02c")
    if is_noisy(list(values)):
        ax.plot(steps, values, color=colour, alpha=0.25, linewidth=0.8)
        ax.plot(steps, smooth(list(values)), color=colour, linewidth=1.6,
                label=f"{kind} (smoothed)")
        return True
    if len(points) >= SMOOTH_FROM:
        ax.plot(steps, values, color=colour, linewidth=1.4, label=kind)
    else:
        ax.plot(steps, values, color=colour, marker="o", markersize=3.5, linewidth=1.4,
                label=kind)
    return False


def _save(fig, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    return out


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def run_title(run_dir: Path) -> str:
    """'NAME (recipe R)' from the run folder's name and its config.yaml."""
    name = run_dir.resolve().name
    try:
        recipe = (yaml.safe_load((run_dir / "config.yaml").read_text()) or {}).get("recipe")
    except (OSError, yaml.YAMLError):
        recipe = None
    return f"{name} (recipe {recipe})" if recipe else name


def plot_curves(run_dir: str | Path) -> Path | None:
    """RUN/plots/curves.png from RUN/metrics.jsonl; None when nothing was logged."""
    run_dir = Path(run_dir)
    series = _by_name(read_metrics(run_dir / "metrics.jsonl"))
    if not series:
        return None
    plt = _pyplot()
    names = panel_order(list(series))
    cols = min(3, len(names))
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.1 * rows + 0.5),
                             squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        smoothed = [_draw(ax, kind, series[name][kind])
                    for kind in sorted(series[name], key=lambda k: (k != "train", k))]
        ax.set_title(name, fontsize=10, pad=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.yaxis.get_offset_text().set_fontsize(7)  # "1e-5" above lr's axis
        ax.grid(alpha=0.3)
        if len(smoothed) > 1 or any(smoothed):
            ax.legend(fontsize=7, frameon=False)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.suptitle(run_title(run_dir), fontsize=12, fontweight="bold")
    fig.tight_layout()
    out = _save(fig, run_dir / "plots" / "curves.png")
    plt.close(fig)
    return out


def plot_comparison(runs: Mapping[str, str | Path], metric: str, out: str | Path,
                    title: str) -> Path | None:
    """One line per run: its validation `metric` over steps; None when no run has it."""
    curves = {label: [(r["step"], float(r[metric]))
                      for r in read_metrics(Path(run) / "metrics.jsonl")
                      if r.get("kind") == "val" and isinstance(r.get(metric), (int, float))]
              for label, run in runs.items()}
    curves = {label: points for label, points in curves.items() if points}
    if not curves:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for label, points in curves.items():
        steps, values = zip(*points, strict=True)
        ax.plot(steps, values, marker="o", markersize=3.5, linewidth=1.6, label=label)
    ax.set_title(title, fontsize=11, fontweight="bold")
    ax.set_xlabel("fine-tuning step")
    ax.set_ylabel(f"validation {metric}")
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    fig.tight_layout()
    path = _save(fig, Path(out))
    plt.close(fig)
    return path
