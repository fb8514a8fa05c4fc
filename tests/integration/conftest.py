"""One tiny synthetic world shared by the integration tests (read-only: runs write elsewhere)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vlkit.cli.main import main
from vlkit.data.stores.native_txt import NativeTextStore
from vlkit.data.synthetic.world import build_world


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("shared") / "world"
    build_world(out, num_images=40, seed=0)
    return out


@pytest.fixture
def viz_first_caption(world):
    """Runs `vlkit viz attention CHECKPOINT` on the world's first val caption into OUT;
    returns that caption's record."""
    def run(checkpoint: Path, out: Path) -> dict:
        captions = NativeTextStore(world / "txt" / "caption_val")
        record = captions.ids()[0]
        assert main(["viz", "attention", "--checkpoint", str(checkpoint),
                     "--img-store", str(world / "img"), "--txt-store",
                     str(world / "txt" / "caption_val"), "--record", record,
                     "--out", str(out)]) == 0
        return captions.get(record)
    return run
