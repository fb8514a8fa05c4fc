"""Initialise the text side of a UNITER model from a Hugging Face-format BERT folder.

    cfg = model_config_from_bert("path/to/bert")        # sizes from its config.json
    model = build_model(cfg)
    loaded = init_text_from_bert(model, "path/to/bert")  # vlkit names that were copied

The folder holds `config.json` and `model.safetensors` (or `pytorch_model.bin`, read with
`torch.load(weights_only=True)`). Keys may carry a `bert.` prefix; TF-era `gamma`/`beta`
LayerNorm names are accepted. Copied: word/position/token-type embeddings, the embedding
LayerNorm, every encoder layer, the pooler when the file has one, and the MLM transform and
bias (`cls.predictions.*`) when both the file and the model have them. The image side is left
as initialised.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch
from torch import nn

from vlkit.models.config import ModelConfig
from vlkit.models.io import read_state_dict
from vlkit.utils.errors import CheckpointError, ConfigError

# BERT config.json key -> ModelConfig field
BERT_SIZE_KEYS = {
    "hidden_size": "hidden_size",
    "num_hidden_layers": "num_layers",
    "num_attention_heads": "num_heads",
    "intermediate_size": "intermediate_size",
    "vocab_size": "vocab_size",
    "max_position_embeddings": "max_position_embeddings",
    "type_vocab_size": "type_vocab_size",
    "hidden_act": "hidden_act",
    "layer_norm_eps": "layer_norm_eps",
}
_TEXT_PREFIXES = ("embeddings.", "encoder.layer.", "pooler.")
_OPTIONAL = ("pooler.", "cls.")


def read_bert_config(bert_dir: str | Path) -> dict:
    path = Path(bert_dir) / "config.json"
    if not path.is_file():
        raise CheckpointError(f"{bert_dir}: not a BERT folder (no config.json)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{path}: not valid JSON: {err}") from err


def model_config_from_bert(bert_dir: str | Path, **overrides) -> ModelConfig:
    """A UNITER ModelConfig whose text sizes are the BERT folder's (image sizes default)."""
    raw = read_bert_config(bert_dir)
    sizes = {field: raw[key] for key, field in BERT_SIZE_KEYS.items() if key in raw}
    return ModelConfig(**{"name": Path(bert_dir).name, "arch": "uniter", **sizes, **overrides})


def check_bert_config(raw: dict, cfg: ModelConfig, source: str = "config.json") -> None:
    """Raise a ConfigError naming the first BERT config key that contradicts `cfg`."""
    for key, field in BERT_SIZE_KEYS.items():
        if key not in raw:
            if key in ("layer_norm_eps", "hidden_act"):
                continue
            raise ConfigError(f"{source}: key '{key}' is missing")
        ours = getattr(cfg, field)
        same = abs(raw[key] - ours) <= 1e-15 if key == "layer_norm_eps" else raw[key] == ours
        if not same:
            raise ConfigError(f"{source}: key '{key}' = {raw[key]!r} but the model has "
                              f"model.{field} = {ours!r}")


def bert_tensors(bert_dir: Path) -> tuple[dict[str, torch.Tensor], Path]:
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (bert_dir / name).is_file():
            path = bert_dir / name
            break
    else:
        raise CheckpointError(f"{bert_dir}: no model.safetensors or pytorch_model.bin")
    out = {}
    for key, value in read_state_dict(path).items():
        key = key[len("bert."):] if key.startswith("bert.") else key
        key = re.sub(r"LayerNorm\.gamma$", "LayerNorm.weight", key)
        key = re.sub(r"LayerNorm\.beta$", "LayerNorm.bias", key)
        out[key] = value
    return out, path


def init_text_from_bert(model: nn.Module, bert_dir: str | Path) -> list[str]:
    """Copy BERT's text-side weights into `model` (a Uniter or UniterEncoder); return the vlkit
    names loaded. Sizes are checked against config.json first; a missing required tensor or a
    shape mismatch raises an error naming the key."""
    bert_dir = Path(bert_dir)
    encoder = getattr(model, "uniter", model)
    check_bert_config(read_bert_config(bert_dir), encoder.cfg, str(bert_dir / "config.json"))
    sd, path = bert_tensors(bert_dir)
    prefix = "uniter." if encoder is not model else ""
    own = model.state_dict()
    targets = {k[len(prefix):]: k for k in own if k.startswith(prefix)
               and k[len(prefix):].startswith(_TEXT_PREFIXES)}
    if hasattr(model, "cls"):
        targets.update({k: k for k in own if k.startswith("cls.predictions.")
                        and k != "cls.predictions.decoder.weight"})
    missing = [b for b in targets if b not in sd and not b.startswith(_OPTIONAL)]
    if missing:
        raise CheckpointError(f"{path}: missing BERT tensors {missing}")
    loaded = []
    with torch.no_grad():
        for bert_key, ours in targets.items():
            if bert_key not in sd:
                continue
            if tuple(sd[bert_key].shape) != tuple(own[ours].shape):
                raise CheckpointError(f"{path}: key '{bert_key}' has shape "
                                      f"{tuple(sd[bert_key].shape)}, model '{ours}' needs "
                                      f"{tuple(own[ours].shape)}")
            own[ours].copy_(sd[bert_key])
            loaded.append(ours)
    return sorted(loaded)
