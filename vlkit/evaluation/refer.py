"""Referring-expression comprehension's evaluation: the best-scored region of each expression,
counted correct when its box has IoU >= 0.5 with `target_box` (vlkit.metrics.refer), on
ground-truth or detected boxes (`data.val_img`) with the same code; predictions `[{"id", "box"}]`
(xyxy, normalised) in RUN/predictions/re_<split>.json. VL-BERT models score regions with
`final_mlp` (`re_task`, shared with the re recipe).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from vlkit.config import RunConfig
from vlkit.data.datasets import PairDataset, ReDataset
from vlkit.evaluation.splits import TaskEval, eval_image_stores
from vlkit.metrics.refer import refer_accuracy
from vlkit.objectives.families import TaskParts, re_parts
from vlkit.objectives.refer import region_scores
from vlkit.runs.context import RunContext
from vlkit.runs.loaders import task_loader
from vlkit.runs.options import task_options
from vlkit.runs.stores import open_text_store
from vlkit.train.distributed import DistInfo
from vlkit.train.precision import autocast, resolve_precision
from vlkit.utils.atomic import atomic_write_json


@dataclass
class ReOptions:
    """`task.*` keys of the re recipe."""

    # evaluation regions are the ground-truth boxes (records' target_region indexes them);
    # default: true unless data.val_img names other (e.g. detected) stores
    eval_gt_regions: bool | None = None


def re_dataset(cfg: RunConfig, names: list[str], img_stores, use_target_region: bool,
               limit: int = 0) -> ReDataset:
    """Referring expressions of the named refer stores over `img_stores` (the first `limit`
    when set); `use_target_region`: the records' target_region indexes the stores' regions."""
    store = open_text_store(cfg, names, "refer")
    ids = store.ids()[:limit] if limit else None
    return ReDataset(PairDataset(store, img_stores, cfg.data.max_txt_len, ids=ids),
                     use_target_region)


def re_task(cfg: RunConfig) -> TaskParts:
    """The model family's objective and region-score function."""
    return re_parts(cfg.model.arch)


def predict(model: nn.Module, cfg: RunConfig, dataset: ReDataset, device: torch.device,
            scores_fn=region_scores) -> dict:
    """Best region per expression: accuracy at IoU >= 0.5, mean IoU, predictions."""
    loader = task_loader(cfg, "re", dataset, DistInfo(), None, infinite=False, shuffle=False)
    precision = resolve_precision(cfg.train.precision, device)
    boxes, targets, preds = [], [], []
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for batch in loader:
            batch = batch.to(device)
            with autocast(precision, device):
                picked = scores_fn(model, batch).argmax(1)
            box = batch.region_boxes[torch.arange(batch.size, device=device), picked].cpu()
            boxes.append(box)
            targets.append(batch.target_boxes.cpu())
            preds += [{"id": rid, "box": b} for rid, b in zip(batch.ids, box.tolist(),
                                                               strict=True)]
    model.train(was_training)
    scores = refer_accuracy(torch.cat(boxes), torch.cat(targets))
    return {**scores, "num_expressions": len(preds), "predictions": preds}


def eval_gt_regions(cfg: RunConfig) -> bool:
    """Whether evaluation regions are the ground-truth boxes (`task.eval_gt_regions`)."""
    opts = task_options(cfg, ReOptions)
    return opts.eval_gt_regions if opts.eval_gt_regions is not None else not cfg.data.val_img


def task_eval(cfg: RunConfig, ctx: RunContext, model: nn.Module) -> TaskEval:
    """Best region per expression; predictions `[{"id", "box"}]` in re_<split>.json."""
    img_stores = eval_image_stores(cfg)
    gt = eval_gt_regions(cfg)
    scores_fn = re_task(cfg).scores
    return TaskEval("re", "json", lambda names: re_dataset(cfg, names, img_stores, gt),
                    lambda m, data: predict(m, cfg, data, ctx.device, scores_fn),
                    atomic_write_json)
