"""Scoring every pair: blocks of the cached tensors give the scores of one-pair batches,
the text shards cover every row once, and `task.*` options are typed and checked."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch

from vlkit.config import RunConfig
from vlkit.data.collate import collate_inputs
from vlkit.data.datasets import PairDataset
from vlkit.data.records import ImageRecord
from vlkit.data.stores.native_img import NativeImageStore, NativeImageStoreWriter
from vlkit.data.stores.native_txt import NativeTextStore, NativeTextStoreWriter
from vlkit.evaluation.retrieval import RetrievalSet, score_all_pairs, shard
from vlkit.models.config import ModelConfig
from vlkit.models.uniter import Uniter
from vlkit.objectives.itm_rank import rank_scores
from vlkit.runs.options import task_options
from vlkit.utils.errors import ConfigError

CFG = ModelConfig(hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32,
                  vocab_size=60, img_dim=6, max_position_embeddings=32)


@pytest.fixture
def pairs(tmp_path) -> PairDataset:
    rng = np.random.default_rng(0)
    with NativeImageStoreWriter(tmp_path / "img") as writer:
        for k in range(5):
            n = 1 + (k * 3) % 5
            writer.add(ImageRecord(id=f"img{k}", feat=rng.normal(size=(n, 6)),
                                   boxes=rng.uniform(0, 1, (n, 7)), soft_labels=None))
    with NativeTextStoreWriter(tmp_path / "txt", task="caption") as writer:
        for k in range(11):
            ids = rng.integers(3, 60, 1 + (k * 7) % 6).tolist()
            writer.add({"id": f"c{k}", "text": "x", "input_ids": ids,
                        "img_id": f"img{k % 5}", "split": "val"})
    return PairDataset(NativeTextStore(tmp_path / "txt"), NativeImageStore(tmp_path / "img"),
                       cls_sep=(1, 2))


@pytest.mark.parametrize("pairs_per_batch", [1, 4, 7, 1000])
def test_block_scores_equal_one_pair_batches(pairs, pairs_per_batch):
    torch.manual_seed(0)
    model = Uniter(CFG, heads=("rank",)).train()
    data = RetrievalSet.from_pairs(pairs)
    scores, stats = score_all_pairs(model, data, torch.device("cpu"), "fp32", pairs_per_batch)
    assert model.training and stats["pairs_per_s"] > 0
    model.eval()
    assert scores.shape == (11, 5)
    for t in range(11):
        for i, img in enumerate(data.img_ids):
            ex = pairs.example(t, img)
            with torch.no_grad():
                one = rank_scores(model, collate_inputs([ex]))
            assert torch.allclose(scores[t, i], one[0], atol=1e-5), (t, img)
    assert data.txt2img.tolist() == [data.img_ids.index(f"img{k % 5}") for k in range(11)]


def test_max_images_keeps_only_their_texts(pairs):
    data = RetrievalSet.from_pairs(pairs, max_images=2)
    assert data.img_ids == ["img0", "img1"]
    assert data.txt_ids == ["c0", "c1", "c5", "c6", "c10"]


@pytest.mark.parametrize("num,world", [(11, 2), (11, 4), (3, 4), (0, 2)])
def test_shards_cover_every_row_once(num, world):
    rows = [r for rank in range(world) for r in shard(num, rank, world)]
    assert rows == list(range(num))


@dataclass
class _Opts:
    neg_size: int = 1
    margin: float = 0.2


def test_task_options_are_coerced_and_unknown_keys_rejected():
    cfg = RunConfig(task={"neg_size": "5", "margin": "0.5"})
    assert task_options(cfg, _Opts) == _Opts(5, 0.5)
    with pytest.raises(ConfigError, match="task.neg_sise"):
        task_options(RunConfig(task={"neg_sise": 3}), _Opts)
