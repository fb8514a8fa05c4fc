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
RUN/predictions/re_<split>.json (vlkit.evaluation.refer). `train.total_steps=0` evaluates
`train.init_from` as is.
VL-BERT models (`model.arch: vlbert`) score regions with `final_mlp` and train with
per-region BCE against IoU > 0.5 (`re_task`, vlkit.objectives.vlbert_tasks).
"""

from __future__ import annotations

from torch import nn

from vlkit.config import RunConfig
from vlkit.evaluation.finish import Training, task_splits, train_and_finish
from vlkit.evaluation.refer import eval_gt_regions, predict, re_dataset, re_task
from vlkit.evaluation.splits import eval_image_stores
from vlkit.models.zoo import build_model
from vlkit.runs.context import setup_run
from vlkit.runs.init import initialise
from vlkit.runs.loaders import task_loader
from vlkit.runs.stores import check_dims, open_image_stores
from vlkit.utils.errors import ConfigError


def main(cfg: RunConfig) -> dict:
    """Fine-tune referring expressions (or, with train.total_steps=0, evaluate as is)."""
    trains = cfg.train.total_steps > 0
    if not cfg.data.val_txt or (trains and not cfg.data.train_txt):
        raise ConfigError("re needs data.val_txt and, to train, data.train_txt (refer stores)")
    ctx = setup_run(cfg)
    img_stores = open_image_stores(cfg, cfg.data.train_img)
    eval_imgs = eval_image_stores(cfg)
    check_dims(cfg, eval_imgs[0], None)
    val_set = re_dataset(cfg, cfg.data.val_txt, eval_imgs, eval_gt_regions(cfg))
    model = build_model(cfg.model, heads=("re",))
    initialise(model, cfg)
    parts = re_task(cfg)

    fit = None
    if trains:
        train_set = re_dataset(cfg, cfg.data.train_txt, img_stores, True, cfg.data.train_limit)
        batches = task_loader(cfg, "re", train_set, ctx.dist, None)

        def evaluate(m: nn.Module) -> dict[str, float]:
            scored = predict(m, cfg, val_set, ctx.device, parts.scores)
            return {"re_acc": scored["accuracy"], "re_mean_iou": scored["mean_iou"]}

        fit = Training(parts.objective, batches, evaluate)
    return train_and_finish(model, cfg, ctx, fit, {"zero_shot": not trains},
                            task_splits(cfg, ctx, "re"))
