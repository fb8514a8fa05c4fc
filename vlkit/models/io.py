"""vlkit checkpoints: a folder holding `model.safetensors` + `config.yaml`.

    save_model(model, "ckpt/")                 # model.cfg is the ModelConfig
    model = load_model("ckpt/")                # rebuilds with the heads found in the weights
    report = load_weights(model, "ckpt/")      # into an existing model, keys checked by name

`config.yaml` is a run-config-shaped mapping: `model:` (the ModelConfig) plus, when given, the
rest of the run config, so `vlkit train ckpt/config.yaml` style loading keeps working.
Tied aliases (e.g. `cls.predictions.decoder.weight`) are not stored (safetensors refuses
shared storage); loading fills them from their source. Weights are read with safetensors, or
with `torch.load(weights_only=True)` for `.pt`/`.bin` files; nothing else is ever unpickled.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import nn

from vlkit.configtools import from_dict
from vlkit.models.config import ModelConfig
from vlkit.models.uniter import TIED_WEIGHTS as UNITER_TIED
from vlkit.models.vlbert import TIED_WEIGHTS as VLBERT_TIED
from vlkit.utils.atomic import atomic_dir
from vlkit.utils.errors import CheckpointError, ConfigError
from vlkit.utils.finite import check_finite
from vlkit.utils.suggest import missing_path

WEIGHTS = "model.safetensors"
CONFIG = "config.yaml"
# alias -> source of every architecture's tied parameters (the names never collide)
TIED_WEIGHTS = {**UNITER_TIED, **VLBERT_TIED}


@dataclass
class LoadReport:
    """What a state-dict load did, every problem key by name."""

    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)  # "key: checkpoint (a,) vs model (b,)"

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    def describe(self) -> str:
        parts = []
        for title, keys in (("missing", self.missing), ("unexpected", self.unexpected),
                            ("mis-shaped", self.mismatched)):
            if keys:
                parts.append(f"{len(keys)} {title} key(s): " + ", ".join(keys))
        return "; ".join(parts) or f"all {len(self.loaded)} keys loaded"


def load_state_dict_checked(model: nn.Module, sd: dict[str, torch.Tensor], strict: bool = True,
                            source: str = "state dict") -> LoadReport:
    """Copy `sd` into `model` by name; tied aliases may be absent or must equal their source.

    strict=True: any missing/unexpected/mis-shaped key raises a CheckpointError that names them
    all. strict=False: the fitting keys are loaded and the report lists the rest.
    """
    own = model.state_dict()
    twins = {**TIED_WEIGHTS, **{src: alias for alias, src in TIED_WEIGHTS.items()}}
    report, to_load = LoadReport(), {}
    for key, value in sd.items():
        if key not in own:
            report.unexpected.append(key)
        elif tuple(value.shape) != tuple(own[key].shape):
            report.mismatched.append(f"{key}: checkpoint {tuple(value.shape)} vs model "
                                     f"{tuple(own[key].shape)}")
        elif key in TIED_WEIGHTS and TIED_WEIGHTS[key] in sd:
            if not torch.equal(value.to(sd[TIED_WEIGHTS[key]].dtype), sd[TIED_WEIGHTS[key]]):
                report.mismatched.append(f"{key}: tied to {TIED_WEIGHTS[key]} but differs")
        else:
            to_load[key] = value
    shared = _shared_storage(own)
    for key in own:
        twin = twins.get(key)
        if key not in sd and not (twin in own and twin in sd) and not shared.get(key, set()) & (
                sd.keys()):
            report.missing.append(key)
    if strict and not report.ok:
        raise CheckpointError(f"{source} does not fit the model: {report.describe()}")
    with torch.no_grad():
        for key, value in to_load.items():
            own[key].copy_(value)
    report.loaded = sorted(to_load)
    return report


def _shared_storage(own: dict[str, torch.Tensor]) -> dict[str, set[str]]:
    """key -> the other keys of the model's state dict tied to the same tensor (e.g. VLP's
    decoder and word embeddings), so that one of them in a checkpoint fills both."""
    groups: dict[tuple, set[str]] = {}
    for key, value in own.items():
        if value.device.type != "meta":
            groups.setdefault((value.data_ptr(), tuple(value.shape)), set()).add(key)
    return {k: group - {k} for group in groups.values() if len(group) > 1 for k in group}


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a .safetensors file, or of a .pt/.bin file via torch.load(weights_only=True)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(missing_path(path) if not path.exists() else
                              f"{path}: a folder, expected a checkpoint file")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except CheckpointError:
        raise
    except Exception as err:  # corrupt file, pickle with code, ...
        raise CheckpointError(f"cannot read checkpoint {path}: {err}") from err
    for wrapper in ("model", "state_dict"):  # {"model"|"state_dict": weights, ...} files
        if isinstance(sd, dict) and isinstance(sd.get(wrapper), dict):
            sd = sd[wrapper]
            break
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise CheckpointError(f"{path}: expected a mapping of parameter names to tensors")
    return sd


def _weights_path(src: str | Path) -> Path:
    src = Path(src)
    return src / WEIGHTS if src.is_dir() else src


def save_model(model: nn.Module, dst: str | Path, cfg: ModelConfig | None = None,
               run_config: Any = None, overwrite: bool = False) -> Path:
    """Write folder `dst` (atomically) with the weights and the config; return its path."""
    cfg = cfg or getattr(model, "cfg", None)
    if not isinstance(cfg, ModelConfig):
        raise ConfigError("save_model needs a ModelConfig (pass cfg= or give the model .cfg)")
    from safetensors.torch import save_file

    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()
               if k not in TIED_WEIGHTS}
    if run_config is None:
        config = {}
    elif dataclasses.is_dataclass(run_config):
        config = dataclasses.asdict(run_config)
    else:
        config = dict(run_config)
    config["model"] = dataclasses.asdict(cfg)
    check_finite(tensors, str(dst))
    try:
        with atomic_dir(dst, overwrite=overwrite) as tmp:
            save_file(tensors, str(tmp / WEIGHTS), metadata={"format": "pt"})
            (tmp / CONFIG).write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    except FileExistsError as err:
        raise CheckpointError(str(err)) from err
    return Path(dst)


def read_model_config(src: str | Path) -> ModelConfig:
    """The ModelConfig stored in a checkpoint folder's config.yaml."""
    path = Path(src) / CONFIG
    if not Path(src).exists():
        raise CheckpointError(missing_path(src))
    if not path.is_file():
        raise CheckpointError(f"{src}: not a vlkit checkpoint folder (no {CONFIG})")
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(raw.get("model"), dict):
        raise CheckpointError(f"{path}: expected a 'model:' mapping (the ModelConfig)")
    return from_dict(ModelConfig, raw["model"], prefix="model")


def load_weights(model: nn.Module, src: str | Path, strict: bool = True) -> LoadReport:
    """Load a checkpoint folder's (or weights file's) tensors into `model`, keys checked."""
    path = _weights_path(src)
    return load_state_dict_checked(model, read_state_dict(path), strict, source=str(path))


def load_model(src: str | Path, heads: list[str] | None = None, num_answers: int | None = None,
               strict: bool = True) -> nn.Module:
    """Build the model a checkpoint folder describes and load its weights.

    `heads` defaults to the heads present in the weights (VQA answer count read from them);
    asking for a head the checkpoint lacks needs strict=False (the head stays freshly
    initialised and is listed as missing).
    """
    from vlkit.models.zoo import build_model, family

    cfg = read_model_config(src)
    sd = read_state_dict(_weights_path(src))
    found_heads, found_answers = family(cfg.arch).heads_in(sd)
    heads = found_heads if heads is None else heads
    num_answers = num_answers or found_answers
    model = build_model(cfg, heads=heads, num_answers=num_answers)
    load_state_dict_checked(model, sd, strict, source=str(_weights_path(src)))
    return model
