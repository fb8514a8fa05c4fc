"""NLVR2's evaluation: True/False for every example, accuracy and consistency (the official
metrics, vlkit.metrics.nlvr2) and the official csv `identifier,True|False`
(RUN/predictions/nlvr2_<split>.csv).
"""

from __future__ import annotations

import torch

from vlkit.config import RunConfig
from vlkit.data.collate.nlvr2 import NLVR2_COLLATE
from vlkit.data.datasets.nlvr2 import Nlvr2Dataset
from vlkit.data.loader import BatchLoader
from vlkit.evaluation.splits import TaskEval, eval_image_stores
from vlkit.metrics.nlvr2 import nlvr2_metrics, write_nlvr2_predictions
from vlkit.objectives.nlvr2 import nlvr2_logits
from vlkit.runs.context import RunContext
from vlkit.runs.loaders import batch_sampler
from vlkit.runs.stores import open_text_store
from vlkit.train.distributed import DistInfo
from vlkit.utils.errors import ConfigError


def nlvr2_dataset(cfg: RunConfig, txt_names: list[str], img_stores, limit: int = 0
                  ) -> Nlvr2Dataset:
    """NLVR2 examples of the named nlvr2 stores, laid out for `model.nlvr2_variant`."""
    store = open_text_store(cfg, txt_names, "nlvr2")
    if getattr(store, "task", "nlvr2") != "nlvr2":
        raise ConfigError(f"text store {store.path} holds task '{store.task}', expected nlvr2")
    ids = store.ids()[:limit] if limit else None
    return Nlvr2Dataset(store, img_stores, cfg.data.max_txt_len,
                        paired=cfg.model.nlvr2_variant != "triplet", ids=ids)


def nlvr2_loader(cfg: RunConfig, dataset: Nlvr2Dataset, dist: DistInfo, train_mode: bool = True
                 ) -> BatchLoader:
    """Batches of the configured variant; endless and shuffled for training."""
    return BatchLoader(dataset, batch_sampler(cfg, dataset, dist, shuffle=train_mode),
                       NLVR2_COLLATE[cfg.model.nlvr2_variant], seed=cfg.train.seed,
                       infinite=train_mode, num_workers=cfg.data.num_workers)


def predict(model: torch.nn.Module, cfg: RunConfig, dataset: Nlvr2Dataset, device) -> dict:
    """True/False for every example, and the official metrics over the labelled ones."""
    predictions: dict[str, bool] = {}
    for batch in nlvr2_loader(cfg, dataset, DistInfo(), train_mode=False):
        picked = nlvr2_logits(model, batch.to(device)).argmax(-1).tolist()
        predictions.update(zip(batch.ids, (p == 1 for p in picked), strict=True))
    labels = dataset.labels()
    scores = nlvr2_metrics(labels, predictions) if labels else {}
    return {**scores, "num_examples": len(predictions), "predictions": predictions}


def task_eval(cfg: RunConfig, ctx: RunContext, model: torch.nn.Module) -> TaskEval:
    """Official csv `identifier,True|False` per split (nlvr2_<split>.csv)."""
    img_stores = eval_image_stores(cfg)
    return TaskEval("nlvr2", "csv", lambda names: nlvr2_dataset(cfg, names, img_stores),
                    lambda m, data: predict(m, cfg, data, ctx.device), write_nlvr2_predictions)
