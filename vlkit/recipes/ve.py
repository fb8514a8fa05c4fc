"""SNLI-VE fine-tuning as UNITER does it: the VQA head with 3 answers, BCE on the one-hot label.

    vlkit train uniter-tiny-ve data.root=runs/synth train.init_from=runs/pretrain

Classes in UNITER's order: 0 contradiction, 1 entailment, 2 neutral (the text store's
meta["label_names"] when it has them). Validation reports accuracy; at the end, predictions
for the validation (and `data.test_txt`) split are written as csv `id,label` (header line,
class names) to RUN/predictions/ve_<split>.csv (vlkit.evaluation.ve), and accuracy,
per-class accuracy and the confusion matrix go to final_metrics.json.
"""

from __future__ import annotations

import torch

from vlkit.config import RunConfig
from vlkit.evaluation.finish import Training, task_splits, train_and_finish
from vlkit.evaluation.ve import predict, ve_dataset
from vlkit.models.zoo import build_model
from vlkit.objectives.ve import VeObjective
from vlkit.runs.context import setup_run
from vlkit.runs.init import initialise
from vlkit.runs.loaders import task_loader
from vlkit.runs.stores import check_dims, open_image_stores
from vlkit.utils.errors import ConfigError


def main(cfg: RunConfig) -> dict:
    """Fine-tune SNLI-VE on data.train_txt, validate on data.val_txt, score every split."""
    if not cfg.data.train_txt or not cfg.data.val_txt:
        raise ConfigError("SNLI-VE needs data.train_txt and data.val_txt (snli_ve text stores)")
    ctx = setup_run(cfg)
    img_stores = open_image_stores(cfg, cfg.data.train_img)
    check_dims(cfg, img_stores[0], None)
    train_set = ve_dataset(cfg, cfg.data.train_txt, img_stores, cfg.data.train_limit)
    val_set = ve_dataset(cfg, cfg.data.val_txt, img_stores)
    batches = task_loader(cfg, "vqa", train_set, ctx.dist, None)

    model = build_model(cfg.model, heads=("vqa",), num_answers=len(train_set.label_names))
    initialise(model, cfg)

    def evaluate(m: torch.nn.Module) -> dict[str, float]:
        return {"ve_acc": predict(m, cfg, val_set, ctx.device)["accuracy"]}

    return train_and_finish(model, cfg, ctx, Training(VeObjective(), batches, evaluate),
                            {"num_train_examples": len(train_set)}, task_splits(cfg, ctx, "ve"))
