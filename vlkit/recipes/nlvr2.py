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
(`identifier,True|False`) to RUN/predictions/nlvr2_<split>.csv (vlkit.evaluation.nlvr2).
"""

from __future__ import annotations

import dataclasses
import logging

import torch

from vlkit.config import RunConfig
from vlkit.evaluation.finish import Training, task_splits, train_and_finish
from vlkit.evaluation.nlvr2 import nlvr2_dataset, nlvr2_loader, predict
from vlkit.models.nlvr2 import NLVR2_TYPE_VOCAB, expand_token_types
from vlkit.models.zoo import build_model
from vlkit.objectives.nlvr2 import Nlvr2Objective
from vlkit.runs.context import setup_run
from vlkit.runs.init import initialise
from vlkit.runs.stores import check_dims, open_image_stores
from vlkit.utils.errors import ConfigError

log = logging.getLogger(__name__)


def main(cfg: RunConfig) -> dict:
    """Fine-tune NLVR2 on data.train_txt, validate on data.val_txt, score every split."""
    if not cfg.data.train_txt or not cfg.data.val_txt:
        raise ConfigError("NLVR2 needs data.train_txt and data.val_txt (nlvr2 text stores)")
    ctx = setup_run(cfg)
    img_stores = open_image_stores(cfg, cfg.data.train_img)
    check_dims(cfg, img_stores[0], None)
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

    info = {"variant": cfg.model.nlvr2_variant, "num_train_examples": len(train_set)}
    return train_and_finish(model, cfg, ctx, Training(Nlvr2Objective(), batches, evaluate), info,
                            task_splits(cfg, ctx, "nlvr2"))
