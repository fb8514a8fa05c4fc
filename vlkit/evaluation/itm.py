"""Retrieval's evaluation as UNITER does it: EVERY text x image pair of a split's caption
stores scored with `rank_output` (sharded over torchrun processes, vlkit.evaluation.retrieval),
R@1/5/10 in both directions (vlkit.metrics.retrieval) and the rankings file
RUN/predictions/itm_<split>.json. A pre-trained checkpoint without a rank head is scored
zero-shot with one derived from its ITM head (`init_rank_head`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from vlkit.config import RunConfig
from vlkit.data.datasets import PairDataset
from vlkit.evaluation.retrieval import RetrievalSet, score_all_pairs
from vlkit.evaluation.splits import TaskEval, eval_image_stores
from vlkit.metrics.retrieval import rankings_from_scores, retrieval_recall, write_rankings
from vlkit.models.io import load_state_dict_checked
from vlkit.models.zoo import build_model
from vlkit.runs.context import RunContext
from vlkit.runs.options import task_options
from vlkit.runs.stores import open_text_store
from vlkit.utils.errors import CheckpointError

log = logging.getLogger(__name__)


@dataclass
class ItmOptions:
    """`task.*` keys of the itm recipe (UNITER's names in brackets)."""

    # valid values, checked at load (vlkit.configtools.check_ranges)
    RANGES: ClassVar[dict[str, str]] = {
        "neg_size": ">= 1", "hard_neg_size": ">= 0", "margin": ">= 0",
        "eval_batch_size": ">= 1", "val_images": ">= 0", "eval_images": ">= 0",
        "rank_k": ">= 1",
    }

    neg_size: int = 1  # negative images and negative texts per positive [negative_size]
    hard_neg_size: int = 0  # > 0: keep this many hardest of the neg_size [hard_neg_size]
    margin: float = 0.2  # ranking loss margin [margin]
    eval_batch_size: int = 400  # pairs per scoring forward pass [inf_minibatch_size]
    val_images: int = 100  # images (and their texts) scored at in-training validation; 0: all
    eval_images: int = 0  # images (and their texts) scored at the final evaluation; 0: all
    rank_k: int = 10  # entries per list in the rankings file (>= 10 for R@10)


def init_rank_head(model: nn.Module) -> None:
    """rank_output <- match log-odds of itm_output (row 1 - row 0)."""
    with torch.no_grad():
        w, b = model.itm_output.weight, model.itm_output.bias
        model.rank_output.weight.copy_((w[1] - w[0])[None])
        model.rank_output.bias.copy_((b[1] - b[0])[None])


def caption_pairs(cfg: RunConfig, names: list[str], img_stores, limit: int = 0) -> PairDataset:
    """(caption, image) pairs of the named caption stores (the first `limit` when set)."""
    store = open_text_store(cfg, names, "caption")
    ids = store.ids()[:limit] if limit else None
    return PairDataset(store, img_stores, cfg.data.max_txt_len, ids=ids)


def evaluate_split(model: nn.Module, cfg: RunConfig, data: RetrievalSet, device: torch.device,
                   opts: ItmOptions, distributed: bool) -> tuple[dict, torch.Tensor]:
    """Recalls (+ scoring speed) of every pair of `data`, and the score matrix."""
    scores, stats = score_all_pairs(model, data, device, cfg.train.precision,
                                    opts.eval_batch_size, distributed)
    metrics = retrieval_recall(scores, data.txt2img)
    metrics.update(num_texts=len(data.txt_ids), num_images=len(data.img_ids), **stats)
    return metrics, scores


def load_eval_model(cfg: RunConfig, state_dict: dict[str, torch.Tensor]) -> nn.Module:
    """A saved model for retrieval evaluation: with its own `rank_output`, or (a pre-trained
    checkpoint, zero-shot) one derived from its ITM head."""
    model = build_model(cfg.model, heads=("itm", "rank"))
    report = load_state_dict_checked(model, state_dict, strict=False, source="checkpoint")
    lacks = {h for h in ("rank_output.", "itm_output.")
             if any(k.startswith(h) for k in report.missing)}
    other = [k for k in report.missing if not k.startswith(("rank_output.", "itm_output."))]
    if report.mismatched or other or len(lacks) == 2:
        raise CheckpointError(f"checkpoint does not fit a retrieval model (needs rank_output "
                              f"or itm_output): {report.describe()}")
    if "rank_output." in lacks:
        init_rank_head(model)
    return model


def task_eval(cfg: RunConfig, ctx: RunContext, model: nn.Module) -> TaskEval:
    """Every text x image pair scored (sharded over processes); rankings itm_<split>.json."""
    opts = task_options(cfg, ItmOptions)
    img_stores = eval_image_stores(cfg)

    def dataset(names: list[str]) -> RetrievalSet:
        return RetrievalSet.from_pairs(caption_pairs(cfg, names, img_stores), opts.eval_images)

    def score(m: nn.Module, data: RetrievalSet) -> dict:
        metrics, scores = evaluate_split(m, cfg, data, ctx.device, opts, True)
        log.info("retrieval: %s", metrics)
        rankings = rankings_from_scores(scores, data.txt_ids, data.img_ids, opts.rank_k)
        return {**metrics, "predictions": rankings}

    return TaskEval("itm", "json", dataset, score, write_rankings, every_rank=True)
