"""Attention PNGs: large head panels without a white band under the title, and a sentence
instead of a one-colour grid when every head has the same pattern."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vlkit.viz.render import render_layer, render_summary, title_colour


def _size(path: Path) -> tuple[int, int]:
    import matplotlib.pyplot as plt

    height, width = plt.imread(path).shape[:2]
    return width, height


def test_layer_panels_are_large_and_the_title_sits_on_them(tmp_path: Path) -> None:
    n, heads = 22, 4
    attn = np.random.default_rng(0).dirichlet(np.ones(n), size=(heads, n))
    labels = ["[CLS]", *[f"w{i}" for i in range(n - 7)], "[SEP]", *[f"r{i}" for i in range(5)]]
    path = render_layer(attn, labels, n - 5, ["heterogeneous"] * heads, "layer 0",
                        tmp_path / "l.png")
    width, height = _size(path)
    assert height >= 500  # each map at least 4.5 in at 100 dpi
    assert width / height < 4.6  # no band of white above the four square panels


def test_one_pattern_for_every_head_is_said_in_words(tmp_path: Path) -> None:
    same = render_summary([["block"] * 4] * 2, "patterns", tmp_path / "same.png")
    mixed = render_summary([["block", "vertical"] * 2] * 2, "patterns", tmp_path / "mixed.png")
    assert _size(same)[1] < 0.6 * _size(mixed)[1]  # one line of text, not a grid


def test_titles_are_dark_enough_to_read() -> None:
    assert all(c < 0.4 for c in title_colour("heterogeneous"))
