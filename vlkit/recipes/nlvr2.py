"""NLVR2 fine-tuning as UNITER does it, in any of its three head variants.

    vlkit train uniter-tiny-nlvr2 data.root=runs/synth train.init_from=runs/pretrain
    vlkit train uniter-tiny-nlvr2 data.root=runs/synth model.nlvr2_variant=triplet

`model.nlvr2_variant` picks the layout (see vlkit/models/nlvr2.py): `paired`, `triplet` or
`paired-attn` (default, UNITER's best). Region token types tell the two images apart, so the
token-type table grows from 2 to 3 rows after initialisation (row 2 copies row 1, as UNITER's
`init_type_embedding`); the saved model's config says 3. To start from a checkpoint that
already has 3 rows (a fine-tuned NLVR2 model), pass `model.type_vocab_size=3`.
Validation reports accuracy and consistency (the official metric); at the end, predictions
for the validation (and `data.test_txt`) split are written in the official csv format
(`identifier,True|False`) to RUN/predictions/nlvr2_<split>.csv.
"""

from __future__ import annotations

import dataclasses
import logging

import torch

from vlkit.config import RunConfig
from vlkit.data.collate.nlvr2 import NLVR2_COLLATE
from vlkit.data.datasets.nlvr2 import Nlvr2Dataset
from vlkit.data.loader import BatchLoader
from vlkit.metrics.nlvr2 import nlvr2_metrics, write_nlvr2_predictions
from vlkit.models.nlvr2 import NLVR2_TYPE_VOCAB, expand_token_types
from vlkit.models.zoo import build_model
from vlkit.objectives.nlvr2 import Nlvr2Objective, nlvr2_logits
from vlkit.recipes import common
from vlkit.recipes.evaluation import TaskEval, eval_image_stores, finish_run
from vlkit.recipes.init import initialise
from vlkit.recipes.loaders import batch_sampler
from vlkit.train.distributed import DistInfo
from vlkit.train.trainer import train
from vlkit.utils.errors import ConfigError

log = logging.getLogger(__name__)


def nlvr2_dataset(cfg: RunConfig, txt_names: list[str], img_stores, limit: int = 0
                  ) -> Nlvr2Dataset:
    store = common.open_text_store(cfg, txt_names, "nlvr2")
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


def task_eval(cfg: RunConfig, ctx: common.RunContext, model: torch.nn.Module) -> TaskEval:
    """Official csv `identifier,True|False` per split (nlvr2_<split>.csv)."""
    img_stores = eval_image_stores(cfg)
    return TaskEval("nlvr2", "csv", lambda names: nlvr2_dataset(cfg, names, img_stores),
                    lambda m, data: predict(m, cfg, data, ctx.device), write_nlvr2_predictions)


def main(cfg: RunConfig) -> dict:
    if not cfg.data.train_txt or not cfg.data.val_txt:
        raise ConfigError("NLVR2 needs data.train_txt and data.val_txt (nlvr2 text stores)")
    ctx = common.setup_run(cfg)
    img_stores = common.open_image_stores(cfg, cfg.data.train_img)
    common.check_dims(cfg, img_stores[0], None)
    train_set = nlvr2_dataset(cfg, cfg.data.train_txt, img_stores, cfg.data.train_limit)
    val_set = nlvr2_dataset(cfg, cfg.data.val_txt, img_stores)
    batches = nlvr2_loader(cfg, train_set, ctx.dist)

    model = build_model(cfg.model, heads=("nlvr2",))
    initialise(model, cfg)
    if expand_token_types(model.uniter.embeddings, NLVR2_TYPE_VOCAB):
        model.cfg = dataclasses.replace(cfg.model, type_vocab_size=NLVR2_TYPE_VOCAB)
        log.info("token types expanded to %d (text, left image, right image)", NLVR2_TYPE_VOCAB)

    def evaluate(m: torch.nn.Module) -> dict[str, float]:
        scored = predict(m, cfg, val_set, ctx.device)
        return {"nlvr2_acc": scored["accuracy"], "nlvr2_consistency": scored["consistency"]}

    last = train(model, Nlvr2Objective(), batches, cfg.train, ctx.run_dir, ctx.device, ctx.dist,
                 evaluate)
    results: dict = {"train": last, "variant": cfg.model.nlvr2_variant,
                     "num_train_examples": len(train_set)}
    return finish_run(model, cfg, ctx, results, task_eval(cfg, ctx, model))
