"""`train.init_from`: start a model from a vlkit checkpoint or a Hugging Face BERT folder."""

from __future__ import annotations

import logging
from pathlib import Path

from torch import nn

from vlkit.config import RunConfig
from vlkit.models.io import WEIGHTS, load_state_dict_checked, read_state_dict
from vlkit.models.zoo import family
from vlkit.utils.errors import CheckpointError, ConfigError
from vlkit.utils.suggest import missing_path

log = logging.getLogger(__name__)


def initialise(model: nn.Module, cfg: RunConfig) -> None:
    """Load `cfg.train.init_from` into `model` when set.

    A folder with `config.json` is a Hugging Face BERT (text side only). Anything else is a
    vlkit checkpoint (a folder with model.safetensors, or a run directory's `model/`): weights
    load by name; heads the checkpoint lacks stay freshly initialised and heads the model lacks
    are dropped, both listed in the log by name; mis-shaped tensors are an error.
    """
    src = cfg.train.init_from
    if not src:
        return
    path = Path(src)
    if not path.exists():
        raise ConfigError(f"config key 'train.init_from': {missing_path(path)}")
    if (path / "model").is_dir() and not (path / "model.safetensors").exists():
        path = path / "model"
    if (path / "config.json").is_file() and not (path / "config.yaml").is_file():
        loaded = family(cfg.model.arch).init_from_bert(model, path)
        log.info("initialised %d text-side tensors from BERT at %s", len(loaded), path)
        return
    weights = path / WEIGHTS if path.is_dir() else path
    sd = read_state_dict(weights)  # read once: loaded, then offered to the family's adopter
    report = load_state_dict_checked(model, sd, strict=False, source=str(weights))
    if report.mismatched:
        raise CheckpointError(f"{path}: {report.describe()}")
    log.info("initialised from %s: %s", path, report.describe())
    adopted = family(cfg.model.arch).adopt_checkpoint(model, sd)
    if adopted:
        log.info("new head started from the checkpoint's pre-trained head: %s",
                 ", ".join(adopted))
