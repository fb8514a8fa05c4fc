"""The model families behind `model.arch`, and the interface every family's model offers.

`MODELS` maps an arch name to its `Family`: how to build a model with named heads, which heads
a saved state dict holds, and how to start it from a Hugging Face BERT folder. Callers look the
family up here instead of branching on the arch name. `vlkit list models` lists MODEL_PRESETS.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch
from torch import nn

from vlkit.encoder_input import EncoderInput
from vlkit.models import uniter, vlbert, vlp
from vlkit.models.bert_init import init_text_from_bert
from vlkit.models.config import ModelConfig
from vlkit.models.encoder import EncoderOutput
from vlkit.models.vlbert_bert_init import init_vlbert_from_bert, seed_final_mlp
from vlkit.utils.errors import ConfigError
from vlkit.utils.suggest import did_you_mean


class VisionLanguageModel(Protocol):
    """What every family's model offers: `encode(inp)` (= calling the model) runs the encoder
    on the shared typed input and returns an `EncoderOutput` (sequence (B, L, H), pooled
    (B, H)); `head(name)` is the submodule of a task head the model was built with."""

    cfg: ModelConfig
    heads: tuple[str, ...]

    def encode(self, inp: EncoderInput, **options: bool | torch.Tensor) -> EncoderOutput: ...
    def head(self, name: str) -> nn.Module: ...


@dataclass(frozen=True)
class Family:
    """One model family: its head names, builder, and the checkpoint/BERT readers."""

    heads: tuple[str, ...]  # every head the family can build
    pretrain_heads: tuple[str, ...]  # the heads of a pre-training model
    build: Callable[..., nn.Module]  # (cfg, heads=..., num_answers=...) -> model
    heads_in: Callable[[dict[str, torch.Tensor]], tuple[list[str], int | None]]
    init_from_bert: Callable[[nn.Module, str | Path], list[str]]
    # after a vlkit checkpoint `sd` loaded into a fine-tuning model: family-specific starts of
    # its new head (VL-BERT's final_mlp transform); returns the keys set
    adopt_checkpoint: Callable[[nn.Module, dict[str, torch.Tensor]], list[str]] = (
        lambda model, sd: [])
    decodes: bool = False  # incremental caption decoding (`start` / `step`)


MODELS: dict[str, Family] = {
    "uniter": Family(uniter.HEADS, uniter.PRETRAIN_HEADS, uniter.Uniter, uniter.heads_in,
                     init_text_from_bert),
    "vlbert": Family(vlbert.HEADS, vlbert.PRETRAIN_HEADS, vlbert.VlBert, vlbert.heads_in,
                     init_vlbert_from_bert, adopt_checkpoint=seed_final_mlp),
    "vlp": Family(vlp.VLP_HEADS, ("mlm",), vlp.Vlp, vlp.heads_in, init_text_from_bert,
                  decodes=True),
}


def family(arch: str) -> Family:
    """The family of `model.arch`; ConfigError with a suggestion when unknown."""
    if arch not in MODELS:
        raise ConfigError(f"config key 'model.arch': unknown architecture '{arch}': "
                          f"{did_you_mean(arch, MODELS)}")
    return MODELS[arch]


def build_model(cfg: ModelConfig, heads: Sequence[str] | None = None,
                num_answers: int | None = None) -> nn.Module:
    """The model for `cfg.arch` with the named heads (default: the family's pre-training
    heads; see each family's HEADS)."""
    fam = family(cfg.arch)
    try:
        return fam.build(cfg, heads=fam.pretrain_heads if heads is None else heads,
                         num_answers=num_answers)
    except ValueError as err:
        raise ConfigError(f"model '{cfg.name}': {err}") from err
