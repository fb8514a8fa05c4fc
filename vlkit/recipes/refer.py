"""Referring-expression comprehension as UNITER does it (`train_re.py`, `model/re.py`).

    vlkit train uniter-tiny-re data.root=W train.init_from=RUN_OF_PRETRAIN
    vlkit train uniter-tiny-re data.root=W data.val_img=[img_det]   # evaluate on detections

Every region of the image gets a score from `re_output` (Linear(H, 1)) over its output
state; training is softmax cross entropy over the image's regions against the referred
region (`target_region` of the refer records, on the ground-truth region store
`data.train_img`). Evaluation picks the best-scored region of each expression on
`data.val_img` (default: the training stores) -- ground-truth or detected boxes, the same
code -- and counts it correct when its box has IoU >= 0.5 with `target_box`
(vlkit.metrics.refer). Predictions `[{"id", "box"}]` (xyxy, normalised) are written to
RUN/predictions/re_<split>.json. `train.total_steps=0` evaluates `train.init_from` as is.
VL-BERT models (`model.arch: vlbert`) score regions with `final_mlp` and train with
per-region BCE against IoU > 0.5 (`re_task`, vlkit.objectives.vlbert_tasks).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from vlkit.config import RunConfig
from vlkit.data.datasets import PairDataset, ReDataset
from vlkit.metrics.refer import refer_accuracy
from vlkit.models.zoo import build_model
from vlkit.objectives.refer import ReObjective, region_scores
from vlkit.objectives.vlbert_tasks import VlBertReObjective, vlbert_region_scores
from vlkit.recipes import common
from vlkit.recipes.evaluation import TaskEval, eval_image_stores, finish_run
from vlkit.recipes.init import initialise
from vlkit.recipes.loaders import task_loader
from vlkit.recipes.options import task_options
from vlkit.train.distributed import DistInfo
from vlkit.train.precision import autocast, resolve_precision
from vlkit.train.trainer import train
from vlkit.utils.atomic import atomic_write_json
from vlkit.utils.errors import ConfigError


@dataclass
class ReOptions:
    """`task.*` keys of the re recipe."""

    # evaluation regions are the ground-truth boxes (records' target_region indexes them);
    # default: true unless data.val_img names other (e.g. detected) stores
    eval_gt_regions: bool | None = None


def re_dataset(cfg: RunConfig, names: list[str], img_stores, use_target_region: bool,
               limit: int = 0) -> ReDataset:
    store = common.open_text_store(cfg, names, "refer")
    ids = store.ids()[:limit] if limit else None
    return ReDataset(PairDataset(store, img_stores, cfg.data.max_txt_len, ids=ids),
                     use_target_region)


def re_task(cfg: RunConfig) -> tuple:
    """(objective, region-score function) of the model's architecture."""
    if cfg.model.arch == "vlbert":
        return VlBertReObjective(), vlbert_region_scores
    return ReObjective(), region_scores


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
    opts = task_options(cfg, ReOptions)
    return opts.eval_gt_regions if opts.eval_gt_regions is not None else not cfg.data.val_img


def task_eval(cfg: RunConfig, ctx: common.RunContext, model: nn.Module) -> TaskEval:
    """Best region per expression; predictions `[{"id", "box"}]` in re_<split>.json."""
    img_stores = eval_image_stores(cfg)
    gt = eval_gt_regions(cfg)
    _, scores_fn = re_task(cfg)
    return TaskEval("re", "json", lambda names: re_dataset(cfg, names, img_stores, gt),
                    lambda m, data: predict(m, cfg, data, ctx.device, scores_fn),
                    atomic_write_json)


def main(cfg: RunConfig) -> dict:
    training = cfg.train.total_steps > 0
    if not cfg.data.val_txt or (training and not cfg.data.train_txt):
        raise ConfigError("re needs data.val_txt and, to train, data.train_txt (refer stores)")
    ctx = common.setup_run(cfg)
    img_stores = common.open_image_stores(cfg, cfg.data.train_img)
    eval_imgs = eval_image_stores(cfg)
    common.check_dims(cfg, eval_imgs[0], None)
    val_set = re_dataset(cfg, cfg.data.val_txt, eval_imgs, eval_gt_regions(cfg))
    model = build_model(cfg.model, heads=("re",))
    initialise(model, cfg)
    objective, scores_fn = re_task(cfg)

    last: dict = {}
    if training:
        train_set = re_dataset(cfg, cfg.data.train_txt, img_stores, True, cfg.data.train_limit)
        batches = task_loader(cfg, "re", train_set, ctx.dist, None)

        def evaluate(m: nn.Module) -> dict[str, float]:
            scored = predict(m, cfg, val_set, ctx.device, scores_fn)
            return {"re_acc": scored["accuracy"], "re_mean_iou": scored["mean_iou"]}

        last = train(model, objective, batches, cfg.train, ctx.run_dir, ctx.device,
                     ctx.dist, evaluate)
    results: dict = {"train": last, "zero_shot": not training}
    return finish_run(model, cfg, ctx, results, task_eval(cfg, ctx, model))
