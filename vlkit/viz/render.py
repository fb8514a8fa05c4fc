"""PNG figures of attention maps (matplotlib, Agg backend: no display needed).

- `render_layer`: one layer, one panel per head, the (L, L) map with the text and region
  blocks separated by lines and labelled (WordPiece tokens, region names r0, r1, ...).
- `render_regions`: the region boxes, numbered as in the maps, over the image when given.
- `render_summary`: the pattern of every head (layers x heads grid) and the count per pattern,
  or, when every head has the same pattern, a sentence that says so.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from vlkit.utils.atomic import atomic_write
from vlkit.viz.patterns import PATTERNS

PATTERN_COLOURS = dict(zip(PATTERNS, ("#4c72b0", "#55a868", "#8172b2", "#dd8452", "#9e9e9e",
                                      "#c44e52"), strict=True))
TEXT_COLOUR, REGION_COLOUR = "#1f3b73", "#b35806"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt, fig, path: str | Path, layout: bool = True) -> Path:
    """Lay out (unless done), write atomically as PNG cropped to its content, close."""
    if layout:
        fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png",
                                               bbox_inches="tight", pad_inches=0.12))
    plt.close(fig)
    return Path(path)


def title_colour(pattern: str) -> tuple[float, float, float]:
    """The pattern's colour darkened enough for text on white."""
    from matplotlib.colors import to_rgb

    return tuple(0.45 * c for c in to_rgb(PATTERN_COLOURS.get(pattern, "black")))


def _label_axes(ax, labels: list[str], txt_len: int, fontsize: float) -> None:
    n = len(labels)
    for setter, rotation in ((ax.set_xticks, 90), (ax.set_yticks, 0)):
        setter(range(n), labels, fontsize=fontsize, rotation=rotation)
    for ticks in (ax.get_xticklabels(), ax.get_yticklabels()):
        for k, tick in enumerate(ticks):
            tick.set_color(TEXT_COLOUR if k < txt_len else REGION_COLOUR)
    for pos in (txt_len - 0.5,):
        ax.axhline(pos, color="white", lw=1.2)
        ax.axvline(pos, color="white", lw=1.2)
    ax.tick_params(length=0)


def render_layer(attn: np.ndarray, labels: list[str], txt_len: int, patterns: list[str],
                 title: str, path: str | Path) -> Path:
    """attn (heads, L, L) -> PNG with one panel per head (rows = queries, columns = keys).

    Colours are scaled per head to its 99th percentile so that weak heads stay readable.
    """
    plt = _pyplot()
    heads, n, _ = attn.shape
    cols = min(heads, 4)
    rows = math.ceil(heads / cols)
    panel = max(4.5, min(8.0, 0.24 * n))  # inches of one map
    fontsize = max(4.5, min(9.0, 300 / max(n, 1)))
    # Size each cell for its map, tick labels, colour bar and title, so the square maps fill
    # it and no band of white is left between the figure title and the panels.
    label = max(len(s) for s in labels) * fontsize * 0.6 / 72 + 0.2
    cell_w, cell_h = panel + label + 0.8, panel + label + 0.4
    top = 0.5  # inches for the figure title
    fig, axes = plt.subplots(rows, cols, figsize=(cell_w * cols, cell_h * rows + top),
                             squeeze=False)
    for h in range(rows * cols):
        ax = axes[h // cols][h % cols]
        if h >= heads:
            ax.axis("off")
            continue
        vmax = float(np.quantile(attn[h], 0.99)) or 1.0
        im = ax.imshow(attn[h], cmap="magma", vmin=0.0, vmax=vmax, interpolation="nearest")
        bar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02)
        bar.ax.tick_params(labelsize=7)
        _label_axes(ax, labels, txt_len, fontsize)
        ax.set_title(f"head {h}: {patterns[h]}", fontsize=11, fontweight="bold",
                     color=title_colour(patterns[h]))
    height = cell_h * rows + top
    fig.tight_layout(rect=(0, 0, 1, 1 - top / height))
    fig.suptitle(title, fontsize=12, y=1 - 0.12 / height, va="top")
    return _save(plt, fig, path, layout=False)


def render_regions(boxes: np.ndarray, labels: list[str], title: str, path: str | Path,
                   image: np.ndarray | None = None) -> Path:
    """boxes (Nr, >=4) normalised [x1, y1, x2, y2, ...] drawn and named; over `image` (H, W, 3)
    when given, else on the unit square."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    h, w = (image.shape[0], image.shape[1]) if image is not None else (1.0, 1.0)
    if image is not None:
        ax.imshow(image)
    else:
        ax.set_facecolor("#f4f4f4")
    cmap = plt.get_cmap("tab10")  # mid-dark colours: white labels stay readable
    for k, (box, label) in enumerate(zip(boxes, labels, strict=True)):
        x1, y1, x2, y2 = float(box[0]) * w, float(box[1]) * h, float(box[2]) * w, float(box[3]) * h
        colour = cmap(k % 10)
        ax.add_patch(plt.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, lw=1.5, ec=colour))
        inside = y1 < 0.08 * h  # a label above a box at the top edge would leave the image
        ax.text(x1, y1, label, fontsize=8, color="white", va="top" if inside else "bottom",
                bbox={"facecolor": colour, "pad": 1, "lw": 0})
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=9)
    return _save(plt, fig, path)


def render_summary(patterns: list[list[str]], title: str, path: str | Path) -> Path:
    """patterns[layer][head] -> grid of coloured cells plus a bar chart of counts."""
    plt = _pyplot()
    layers, heads = len(patterns), len(patterns[0])
    found = {p for row in patterns for p in row}
    if len(found) == 1:
        return _one_pattern(plt, found.pop(), layers, heads, title, path)
    codes = np.array([[PATTERNS.index(p) for p in row] for row in patterns])
    from matplotlib.colors import ListedColormap

    fig, (grid, bars) = plt.subplots(
        1, 2, figsize=(4 + 0.45 * heads + 4, 1.5 + 0.4 * layers),
        gridspec_kw={"width_ratios": [max(heads, 2), 6]})
    grid.imshow(codes, cmap=ListedColormap(list(PATTERN_COLOURS.values())), vmin=-0.5,
                vmax=len(PATTERNS) - 0.5, aspect="auto")
    short = {p: "".join(w[0].upper() for w in p.replace("+", " ").split()) for p in PATTERNS}
    for i in range(layers):
        for j in range(heads):
            grid.text(j, i, short[patterns[i][j]], ha="center", va="center", fontsize=7,
                      color="white")
    grid.set_xticks(range(heads), [str(h) for h in range(heads)], fontsize=7)
    grid.set_yticks(range(layers), [f"layer {i}" for i in range(layers)], fontsize=7)
    grid.set_xlabel("head", fontsize=8)
    counts = [sum(row.count(p) for row in patterns) for p in PATTERNS]
    names = [f"{p} ({short[p]})" for p in PATTERNS]
    bars.barh(names, counts, color=list(PATTERN_COLOURS.values()))
    bars.invert_yaxis()
    bars.tick_params(labelsize=8)
    bars.set_xlabel("heads", fontsize=8)
    for k, c in enumerate(counts):
        bars.text(c, k, f" {c}", va="center", fontsize=8)
    bars.set_xlim(0, max(counts) * 1.2 + 0.5)
    fig.suptitle(title, fontsize=10)
    return _save(plt, fig, path)


def _one_pattern(plt, pattern: str, layers: int, heads: int, title: str,
                 path: str | Path) -> Path:
    """A sentence instead of a grid of one colour: every head has `pattern`."""
    fig = plt.figure(figsize=(7.5, 1.5))
    fig.text(0.02, 0.78, title, fontsize=10, va="center")
    fig.text(0.02, 0.4, f"All {layers * heads} heads ({layers} layers x {heads} heads) have "
             f"one pattern: {pattern}", fontsize=13, fontweight="bold", va="center",
             color=title_colour(pattern))
    return _save(plt, fig, path, layout=False)
