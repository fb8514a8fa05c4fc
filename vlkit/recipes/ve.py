"""SNLI-VE fine-tuning as UNITER does it: the VQA head with 3 answers, BCE on the one-hot label.

    vlkit train uniter-tiny-ve data.root=runs/synth train.init_from=runs/pretrain

Classes in UNITER's order: 0 contradiction, 1 entailment, 2 neutral (the text store's
meta["label_names"] when it has them). Validation reports accuracy; at the end, predictions
for the validation (and `data.test_txt`) split are written as csv `id,label` (header line,
class names) to RUN/predictions/ve_<split>.csv, and accuracy, per-class accuracy and the
confusion matrix go to final_metrics.json.
"""

from __future__ import annotations

import logging

import torch

from vlkit.config import RunConfig
from vlkit.data.datasets.pair import PairDataset
from vlkit.data.datasets.snli_ve import VeDataset
from vlkit.metrics.classification import classification_metrics
from vlkit.models.zoo import build_model
from vlkit.objectives.ve import VeObjective
from vlkit.objectives.vqa import vqa_logits
from vlkit.recipes import common
from vlkit.recipes.evaluation import TaskEval, eval_image_stores, finish_run
from vlkit.recipes.init import initialise
from vlkit.recipes.loaders import task_loader
from vlkit.train.distributed import DistInfo
from vlkit.train.trainer import train
from vlkit.utils.atomic import atomic_write_text
from vlkit.utils.errors import ConfigError

log = logging.getLogger(__name__)


def ve_dataset(cfg: RunConfig, txt_names: list[str], img_stores, limit: int = 0) -> VeDataset:
    store = common.open_text_store(cfg, txt_names, "snli_ve")
    if getattr(store, "task", "snli_ve") != "snli_ve":
        raise ConfigError(f"text store {store.path} holds task '{store.task}', expected snli_ve")
    ids = store.ids()[:limit] if limit else None
    return VeDataset(PairDataset(store, img_stores, cfg.data.max_txt_len, ids=ids))


def predict(model: torch.nn.Module, cfg: RunConfig, dataset: VeDataset, device) -> dict:
    """Arg-max class of every example; classification metrics over the labelled ones."""
    loader = task_loader(cfg, "vqa", dataset, DistInfo(), None, infinite=False, shuffle=False)
    predictions: dict[str, int] = {}
    for batch in loader:
        picked = vqa_logits(model, batch.to(device)).argmax(-1).tolist()
        predictions.update(zip(batch.qids, picked, strict=True))
    labels = dataset.labels()
    scores = {}
    if labels:
        ids = list(labels)
        scores = classification_metrics([predictions[i] for i in ids], [labels[i] for i in ids],
                                        dataset.label_names)
    named = {rid: dataset.label_names[k] for rid, k in predictions.items()}
    return {**scores, "num_examples": len(predictions), "predictions": named}


def write_predictions(path, predictions: dict[str, str]) -> None:
    """csv `id,label` with a header line and class names (read by `vlkit score`)."""
    lines = ["id,label\n", *(f"{rid},{name}\n" for rid, name in predictions.items())]
    atomic_write_text(path, "".join(lines))


def task_eval(cfg: RunConfig, ctx: common.RunContext, model: torch.nn.Module) -> TaskEval:
    """csv `id,label` with class names per split (ve_<split>.csv)."""
    img_stores = eval_image_stores(cfg)
    return TaskEval("ve", "csv", lambda names: ve_dataset(cfg, names, img_stores),
                    lambda m, data: predict(m, cfg, data, ctx.device), write_predictions)


def main(cfg: RunConfig) -> dict:
    if not cfg.data.train_txt or not cfg.data.val_txt:
        raise ConfigError("SNLI-VE needs data.train_txt and data.val_txt (snli_ve text stores)")
    ctx = common.setup_run(cfg)
    img_stores = common.open_image_stores(cfg, cfg.data.train_img)
    common.check_dims(cfg, img_stores[0], None)
    train_set = ve_dataset(cfg, cfg.data.train_txt, img_stores, cfg.data.train_limit)
    val_set = ve_dataset(cfg, cfg.data.val_txt, img_stores)
    batches = task_loader(cfg, "vqa", train_set, ctx.dist, None)

    model = build_model(cfg.model, heads=("vqa",), num_answers=len(train_set.label_names))
    initialise(model, cfg)

    def evaluate(m: torch.nn.Module) -> dict[str, float]:
        return {"ve_acc": predict(m, cfg, val_set, ctx.device)["accuracy"]}

    last = train(model, VeObjective(), batches, cfg.train, ctx.run_dir, ctx.device, ctx.dist,
                 evaluate)
    results: dict = {"train": last, "num_train_examples": len(train_set)}
    return finish_run(model, cfg, ctx, results, task_eval(cfg, ctx, model))
