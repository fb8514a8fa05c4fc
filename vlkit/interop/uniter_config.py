"""UNITER's JSON model config (BERT-style keys) <-> vlkit's ModelConfig, and the sidecar that
carries a model's config beside an exported UNITER state dict.

A UNITER state dict holds tensors only, and its shapes do not say the head count, the
dropout or which vocabulary file the token ids index. UNITER keeps those in a JSON file
(`config/uniter-base.json`: hidden_size, num_attention_heads, num_hidden_layers, ...), read
with `--model_config`. `vlkit convert uniter --export DIR OUT.pt` therefore writes OUT.json
next to OUT.pt in that format, so UNITER's own code reads both files unchanged (UniterConfig
takes every key of the JSON as an attribute; the extra `vlkit` key holds the full vlkit
run config: text vocabulary, stores, the model fields UNITER has no key for).
`vlkit convert uniter OUT.pt DIR` reads OUT.json when it exists (or `--config FILE`).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from vlkit.models.config import ModelConfig
from vlkit.utils.errors import ConfigError

# UNITER / BERT JSON key -> ModelConfig field
BERT_KEYS = {
    "vocab_size": "vocab_size",
    "hidden_size": "hidden_size",
    "num_hidden_layers": "num_layers",
    "num_attention_heads": "num_heads",
    "intermediate_size": "intermediate_size",
    "hidden_act": "hidden_act",
    "hidden_dropout_prob": "hidden_dropout",
    "attention_probs_dropout_prob": "attention_dropout",
    "max_position_embeddings": "max_position_embeddings",
    "type_vocab_size": "type_vocab_size",
    "initializer_range": "initializer_range",
    "layer_norm_eps": "layer_norm_eps",
}
VLKIT_KEY = "vlkit"  # {"run_config": {...}}: what UNITER's JSON has no key for


def sidecar_path(weights: str | Path) -> Path:
    """OUT.pt -> OUT.json: where the config of an exported state dict lives."""
    return Path(weights).with_suffix(".json")


def uniter_json(cfg: ModelConfig, run_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """`cfg` in UNITER's JSON config format, plus the vlkit run config under "vlkit"."""
    out: dict[str, Any] = {key: getattr(cfg, field) for key, field in BERT_KEYS.items()}
    full = dict(run_config or {})
    full["model"] = dataclasses.asdict(cfg)
    out[VLKIT_KEY] = {"run_config": full}
    return out


@dataclasses.dataclass
class UniterJsonConfig:
    """What a UNITER JSON config says: ModelConfig fields and, from a vlkit export, the run
    config the model was trained with (None for UNITER's own files)."""

    model: dict[str, Any]
    run_config: dict[str, Any] | None


def read_uniter_json(path: str | Path) -> UniterJsonConfig:
    """Read UNITER's JSON config (BERT-style keys) or a vlkit export's sidecar."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"--config {path}: no such file") from None
    except (OSError, json.JSONDecodeError) as err:
        raise ConfigError(f"--config {path}: not a JSON config ({err})") from err
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a JSON object with UNITER's config keys "
                          f"({', '.join(BERT_KEYS)})")
    vlkit_part = raw.get(VLKIT_KEY) if isinstance(raw.get(VLKIT_KEY), dict) else {}
    run_config = vlkit_part.get("run_config")
    if isinstance(run_config, dict) and isinstance(run_config.get("model"), dict):
        fields = {f.name for f in dataclasses.fields(ModelConfig)}
        model = {k: v for k, v in run_config["model"].items() if k in fields}
        return UniterJsonConfig(model, run_config)
    model = {field: raw[key] for key, field in BERT_KEYS.items() if key in raw}
    if "num_heads" not in model:
        raise ConfigError(f"{path}: no 'num_attention_heads'; expected UNITER's JSON config "
                          "(e.g. config/uniter-base.json)")
    return UniterJsonConfig(model, None)
