"""Image-text retrieval fine-tuning and evaluation as UNITER does it (`train_itm*.py`).

    vlkit train uniter-tiny-itm data.root=W train.init_from=RUN_OF_PRETRAIN
    vlkit train uniter-tiny-itm-hn data.root=W train.init_from=...     # hard negatives
    vlkit train uniter-tiny-itm data.root=W train.init_from=... train.total_steps=0  # zero-shot

The model scores a pair with `rank_output` (Linear(H, 1) on the pooled output), which starts
as the pre-trained ITM head's match log-odds (itm_output row 1 minus row 0, so zero-shot
scores rank pairs by the pre-trained P(match); UNITER copies row 1 only). Training: margin
ranking loss over sampled or mined negatives (vlkit.objectives.itm_rank). Evaluation scores
EVERY text x image pair of the validation (and `data.test_txt`) caption stores, sharded over
torchrun processes, reports R@1/5/10 in both directions (vlkit.metrics.retrieval) and writes
the rankings file RUN/predictions/itm_<split>.json. With `train.total_steps=0` no training
runs: the checkpoint of `train.init_from` is evaluated as is (zero-shot).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from vlkit.config import RunConfig
from vlkit.data.datasets import ItmRankDataset, PairDataset
from vlkit.metrics.retrieval import rankings_from_scores, retrieval_recall, write_rankings
from vlkit.models.io import load_state_dict_checked
from vlkit.models.zoo import build_model
from vlkit.objectives.itm_rank import ItmRankObjective
from vlkit.recipes import common
from vlkit.recipes.evaluation import TaskEval, eval_image_stores, finish_run
from vlkit.recipes.init import initialise
from vlkit.recipes.loaders import task_loader
from vlkit.recipes.options import task_options
from vlkit.recipes.retrieval_eval import RetrievalSet, score_all_pairs
from vlkit.train.trainer import train
from vlkit.utils.errors import CheckpointError, ConfigError

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


def build_itm_model(cfg: RunConfig) -> nn.Module:
    """Model with itm + rank heads, initialised from `train.init_from`; a checkpoint without
    a trained rank head gets it from its ITM head."""
    model = build_model(cfg.model, heads=("itm", "rank"))
    before = model.rank_output.weight.detach().clone()
    initialise(model, cfg)
    if torch.equal(before, model.rank_output.weight):
        init_rank_head(model)
    return model


def caption_pairs(cfg: RunConfig, names: list[str], img_stores, limit: int = 0) -> PairDataset:
    store = common.open_text_store(cfg, names, "caption")
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


def task_eval(cfg: RunConfig, ctx: common.RunContext, model: nn.Module) -> TaskEval:
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


def main(cfg: RunConfig) -> dict:
    opts = task_options(cfg, ItmOptions)
    if not cfg.data.val_txt:
        raise ConfigError("itm needs data.val_txt (caption text stores to evaluate retrieval)")
    if opts.rank_k < 10:
        raise ConfigError(f"config key 'task.rank_k' must be >= 10 for R@10, got {opts.rank_k}")
    training = cfg.train.total_steps > 0
    if training and not cfg.data.train_txt:
        raise ConfigError("itm fine-tuning needs data.train_txt (or train.total_steps=0)")
    ctx = common.setup_run(cfg)
    img_stores = common.open_image_stores(cfg, cfg.data.train_img)
    eval_imgs = eval_image_stores(cfg)
    common.check_dims(cfg, eval_imgs[0], None)
    model = build_itm_model(cfg)
    val_pairs = caption_pairs(cfg, cfg.data.val_txt, eval_imgs)

    last: dict = {}
    if training:
        train_set = ItmRankDataset(caption_pairs(cfg, cfg.data.train_txt, img_stores,
                                                 cfg.data.train_limit),
                                   opts.neg_size, cfg.train.seed)
        batches = task_loader(cfg, "itm_rank", train_set, ctx.dist, None)
        val_small = RetrievalSet.from_pairs(val_pairs, opts.val_images)

        def evaluate(m: nn.Module) -> dict[str, float]:  # rank 0 only: no collectives
            metrics, _ = evaluate_split(m, cfg, val_small, ctx.device, opts, False)
            return {k: v for k, v in metrics.items() if k.endswith(("_r1", "_r5", "_r10"))
                    or k == "r_mean"}

        objective = ItmRankObjective(opts.margin, opts.hard_neg_size)
        last = train(model, objective, batches, cfg.train, ctx.run_dir, ctx.device, ctx.dist,
                     evaluate)
    results: dict = {"train": last, "zero_shot": not training}
    return finish_run(model, cfg, ctx, results, task_eval(cfg, ctx, model))
