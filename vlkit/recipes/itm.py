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
the rankings file RUN/predictions/itm_<split>.json (vlkit.evaluation.itm). With
`train.total_steps=0` no training runs: the checkpoint of `train.init_from` is evaluated as is
(zero-shot).
"""

from __future__ import annotations

import torch
from torch import nn

from vlkit.config import RunConfig
from vlkit.data.datasets import ItmRankDataset, PairDataset
from vlkit.evaluation.finish import Training, task_splits, train_and_finish
from vlkit.evaluation.itm import ItmOptions, caption_pairs, evaluate_split, init_rank_head
from vlkit.evaluation.retrieval import RetrievalSet
from vlkit.evaluation.splits import eval_image_stores
from vlkit.models.zoo import build_model
from vlkit.objectives.itm_rank import ItmRankObjective
from vlkit.runs.context import RunContext, setup_run
from vlkit.runs.init import initialise
from vlkit.runs.loaders import task_loader
from vlkit.runs.options import task_options
from vlkit.runs.stores import check_dims, open_image_stores
from vlkit.utils.errors import ConfigError


def build_itm_model(cfg: RunConfig) -> nn.Module:
    """Model with itm + rank heads, initialised from `train.init_from`; a checkpoint without
    a trained rank head gets it from its ITM head."""
    model = build_model(cfg.model, heads=("itm", "rank"))
    before = model.rank_output.weight.detach().clone()
    initialise(model, cfg)
    if torch.equal(before, model.rank_output.weight):
        init_rank_head(model)
    return model


def training(cfg: RunConfig, opts: ItmOptions, ctx: RunContext, img_stores: list,
             val_pairs: PairDataset) -> Training:
    """Margin ranking over sampled (or mined) negatives; validation recalls on the first
    `task.val_images` validation images (main process, no collectives)."""
    train_set = ItmRankDataset(caption_pairs(cfg, cfg.data.train_txt, img_stores,
                                             cfg.data.train_limit),
                               opts.neg_size, cfg.train.seed)
    batches = task_loader(cfg, "itm_rank", train_set, ctx.dist, None)
    val_small = RetrievalSet.from_pairs(val_pairs, opts.val_images)

    def evaluate(m: nn.Module) -> dict[str, float]:
        metrics, _ = evaluate_split(m, cfg, val_small, ctx.device, opts, False)
        return {k: v for k, v in metrics.items() if k.endswith(("_r1", "_r5", "_r10"))
                or k == "r_mean"}

    return Training(ItmRankObjective(opts.margin, opts.hard_neg_size), batches, evaluate)


def main(cfg: RunConfig) -> dict:
    """Fine-tune retrieval (or, with train.total_steps=0, evaluate zero-shot)."""
    opts = task_options(cfg, ItmOptions)
    if not cfg.data.val_txt:
        raise ConfigError("itm needs data.val_txt (caption text stores to evaluate retrieval)")
    if opts.rank_k < 10:
        raise ConfigError(f"config key 'task.rank_k' must be >= 10 for R@10, got {opts.rank_k}")
    trains = cfg.train.total_steps > 0
    if trains and not cfg.data.train_txt:
        raise ConfigError("itm fine-tuning needs data.train_txt (or train.total_steps=0)")
    ctx = setup_run(cfg)
    img_stores = open_image_stores(cfg, cfg.data.train_img)
    eval_imgs = eval_image_stores(cfg)
    check_dims(cfg, eval_imgs[0], None)
    model = build_itm_model(cfg)
    val_pairs = caption_pairs(cfg, cfg.data.val_txt, eval_imgs)
    fit = training(cfg, opts, ctx, img_stores, val_pairs) if trains else None
    return train_and_finish(model, cfg, ctx, fit, {"zero_shot": not trains},
                            task_splits(cfg, ctx, "itm"))
