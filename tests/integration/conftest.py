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


TINY = ["train.progress=false", "train.precision=fp32", "train.device=cpu",
        "train.num_threads=1", "train.log_every=1", "train.warmup_steps=1", "train.val_every=100",
        "train.ckpt_every=1000", "model.num_layers=1", "model.hidden_size=32",
        "model.num_heads=2", "model.intermediate_size=64", "train.batch_size=4",
        "train.total_steps=3", "data.train_limit=16"]
RUN_PRESETS = {"vqa": "uniter-tiny-vqa", "nlvr2": "uniter-tiny-nlvr2", "ve": "uniter-tiny-ve",
               "itm": "uniter-tiny-itm", "re": "uniter-tiny-re"}


@pytest.fixture(scope="session")
def tiny() -> list[str]:
    """Overrides that make any preset a seconds-long one-thread run."""
    return list(TINY)


@pytest.fixture(scope="session")
def runs(world, tmp_path_factory) -> dict[str, Path]:
    """A 3-step tiny run of every single-stream fine-tuning task (for eval, predict, serve)."""
    root = tmp_path_factory.mktemp("evalruns")
    out = {}
    for task, preset in RUN_PRESETS.items():
        out[task] = root / task
        assert main(["train", preset, f"data.root={world}", f"out={out[task]}", *TINY]) == 0
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
