"""SNLI-VE's evaluation: the arg-max class of every example, accuracy, per-class accuracy and
the confusion matrix (vlkit.metrics.classification), and csv `id,label` with class names
(RUN/predictions/ve_<split>.csv).
"""

from __future__ import annotations

import torch

from vlkit.config import RunConfig
from vlkit.data.datasets.pair import PairDataset
from vlkit.data.datasets.snli_ve import VeDataset
from vlkit.evaluation.splits import TaskEval, eval_image_stores
from vlkit.metrics.classification import classification_metrics
from vlkit.objectives.vqa import vqa_logits
from vlkit.runs.context import RunContext
from vlkit.runs.loaders import task_loader
from vlkit.runs.stores import open_text_store
from vlkit.train.distributed import DistInfo
from vlkit.utils.atomic import atomic_write_text
from vlkit.utils.errors import ConfigError


def ve_dataset(cfg: RunConfig, txt_names: list[str], img_stores, limit: int = 0) -> VeDataset:
    """SNLI-VE examples of the named snli_ve stores (the first `limit` when set)."""
    store = open_text_store(cfg, txt_names, "snli_ve")
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


def task_eval(cfg: RunConfig, ctx: RunContext, model: torch.nn.Module) -> TaskEval:
    """csv `id,label` with class names per split (ve_<split>.csv)."""
    img_stores = eval_image_stores(cfg)
    return TaskEval("ve", "csv", lambda names: ve_dataset(cfg, names, img_stores),
                    lambda m, data: predict(m, cfg, data, ctx.device), write_predictions)
