"""The run config: one dataclass per component, YAML presets, `key=value` overrides.

    cfg = load_config("uniter-tiny-pretrain", ["train.lr=1e-4", "model.num_layers=2"])

A preset is a packaged YAML file `vlkit/configs/<model>-<size>-<job>.yaml` or any YAML path.
`model.name` names a zoo entry (vlkit.models.presets) whose sizes are the starting point;
other `model.*` keys override them. Unknown keys fail with a "did you mean" hint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from vlkit.configtools import dump_yaml, from_dict, merge, overrides_to_dict
from vlkit.data.config import DataConfig
from vlkit.models.config import ModelConfig
from vlkit.models.presets import MODEL_PRESETS
from vlkit.text.config import TextConfig
from vlkit.train.config import TrainConfig
from vlkit.utils.errors import ConfigError
from vlkit.utils.suggest import did_you_mean, missing_path


@dataclass
class RunConfig:
    recipe: str = "pretrain"  # which recipe `vlkit train` runs (see vlkit.recipes)
    out: str = ""  # run directory; default runs/<preset name>
    model: ModelConfig = field(default_factory=ModelConfig)
    text: TextConfig = field(default_factory=TextConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    # task-specific options of the recipe (e.g. itm: neg_size, margin); each recipe checks
    # its own keys (vlkit.runs.options.task_options)
    task: dict[str, Any] = field(default_factory=dict)


def preset_names() -> list[str]:
    """Packaged config presets, sorted."""
    folder = resources.files("vlkit") / "configs"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def preset_summary(name: str) -> str:
    """The one-line description of a packaged preset: its first line, `# summary: ...`."""
    text = (resources.files("vlkit") / "configs" / f"{name}.yaml").read_text()
    first = text.split("\n", 1)[0]
    return first.removeprefix("# summary:").strip() if first.startswith("# summary:") else ""


def read_preset(name_or_path: str) -> dict:
    """The raw dict of a packaged preset name or a YAML file path."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist" if path.exists() else
                              f"config file: {missing_path(path)}")
        text = path.read_text(encoding="utf-8")
        source = str(path)
    else:
        if name_or_path not in preset_names():
            raise ConfigError(
                f"unknown config '{name_or_path}': {did_you_mean(name_or_path, preset_names())}"
            )
        text = (resources.files("vlkit") / "configs" / f"{name_or_path}.yaml").read_text()
        source = f"preset {name_or_path}"
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{source}: not valid YAML: {err}") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at top level, got {type(data).__name__}")
    return data


def build_config(raw: dict) -> RunConfig:
    """Typed RunConfig from a nested dict, starting `model` from its named zoo entry."""
    raw = dict(raw)
    model = dict(raw.get("model") or {})
    name = model.get("name")
    if name is not None and name != "custom":
        if name not in MODEL_PRESETS:
            raise ConfigError(f"config key 'model.name': unknown model '{name}': "
                              f"{did_you_mean(str(name), MODEL_PRESETS)}")
        model = merge(MODEL_PRESETS[name], model)
    raw["model"] = model
    return from_dict(RunConfig, raw)


def load_config(name_or_path: str, overrides: list[str] | None = None) -> RunConfig:
    """Preset or YAML file, plus dotted `key=value` overrides, as a validated RunConfig."""
    raw = merge(read_preset(name_or_path), overrides_to_dict(overrides or []))
    cfg = build_config(raw)
    if not cfg.out:
        cfg.out = str(Path("runs") / Path(name_or_path).stem)
    return cfg


def config_to_yaml(cfg: RunConfig) -> str:
    return dump_yaml(cfg)
