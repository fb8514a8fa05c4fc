"""A model with VCR's four token types (question, region, answer, rationale), initialised.

UNITER grows the token-type table from 2 to 4 rows after loading a pre-trained checkpoint
(`init_type_embedding`); a checkpoint that already has 4 rows (a VCR pre-training or
fine-tuning run) loads as is. Both VCR recipes (fine-tuning, second-stage pre-training) build
their model here, and the saved model's config says 4.

VL-BERT (`model.arch: vlbert`) keeps its three token types (question 0, choice 1, objects 2);
started from a checkpoint without a VCR head (pre-training), the choice row of the table
begins as a copy of the text row, as VL-BERT's PARTIAL_PRETRAIN_SEGMB_INIT does.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from vlkit.config import RunConfig
from vlkit.models.io import WEIGHTS, read_model_config, read_state_dict
from vlkit.models.vcr import VCR_TYPE_VOCAB, expand_vcr_token_types
from vlkit.models.vlbert import ANSWER_TYPE, TEXT_TYPE
from vlkit.models.zoo import build_model
from vlkit.runs.init import initialise
from vlkit.utils.errors import ConfigError

log = logging.getLogger(__name__)


def init_type_vocab(cfg: RunConfig) -> int:
    """Token-type rows of `train.init_from` when it is a vlkit checkpoint, else the config's."""
    path = Path(cfg.train.init_from) if cfg.train.init_from else None
    if path is not None and (path / "model" / "config.yaml").is_file():
        path = path / "model"
    if path is None or not (path / "config.yaml").is_file() or \
            not (path / "model.safetensors").is_file():
        return cfg.model.type_vocab_size
    return read_model_config(path).type_vocab_size


def init_checkpoint(cfg: RunConfig) -> Path | None:
    """The weights file of `train.init_from` when it is a vlkit checkpoint, else None."""
    path = Path(cfg.train.init_from) if cfg.train.init_from else None
    if path is None:
        return None
    for candidate in (path / "model" / WEIGHTS, path / WEIGHTS, path):
        if candidate.is_file() and candidate.suffix == ".safetensors":
            return candidate
    return None


def build_vlbert_vcr_model(cfg: RunConfig, heads: Sequence[str]) -> nn.Module:
    """VL-BERT with its VCR head, from `train.init_from`; the choice token type starts as
    the text type's row unless the checkpoint already has a VCR head."""
    model = build_model(cfg.model, heads=heads)
    initialise(model, cfg)
    weights = init_checkpoint(cfg)
    if weights is not None and "final_mlp.1.weight" not in read_state_dict(weights):
        table = model.vlbert.token_type_embeddings.weight
        with torch.no_grad():
            table[ANSWER_TYPE].copy_(table[TEXT_TYPE])
        log.info("token type %d (choice) started as a copy of type %d (text)", ANSWER_TYPE,
                 TEXT_TYPE)
    return model


def build_uniter_vcr_model(cfg: RunConfig, heads: Sequence[str]) -> nn.Module:
    """build_model + `train.init_from` + token types grown to 4 (model.cfg updated)."""
    model_cfg = dataclasses.replace(cfg.model, type_vocab_size=init_type_vocab(cfg))
    model = build_model(model_cfg, heads=heads)
    initialise(model, cfg)
    if expand_vcr_token_types(model.uniter.embeddings, VCR_TYPE_VOCAB):
        log.info("token types expanded to %d (question, region, answer, rationale)",
                 VCR_TYPE_VOCAB)
    rows = model.uniter.embeddings.token_type_embeddings.num_embeddings
    model.cfg = dataclasses.replace(model_cfg, type_vocab_size=rows)
    return model


# how each model family starts a VCR model (its token types differ)
VCR_MODELS = {"uniter": build_uniter_vcr_model, "vlbert": build_vlbert_vcr_model}


def build_vcr_model(cfg: RunConfig, heads: Sequence[str]) -> nn.Module:
    """The VCR model of `model.arch`, started from `train.init_from`."""
    if cfg.model.arch not in VCR_MODELS:
        raise ConfigError(f"config key 'model.arch': VCR trains {sorted(VCR_MODELS)} models, "
                          f"not '{cfg.model.arch}'")
    return VCR_MODELS[cfg.model.arch](cfg, heads)
