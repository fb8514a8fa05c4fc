"""`vlkit eval`: evaluate a saved model on its task's splits, the same code training ends with.

    results = run_eval("runs/vqa", ["data.test_txt=[txt/vqa_test]"])

The source is a run directory (its `model/`, or its newest training checkpoint when the run
has not finished), a saved model folder (`model.safetensors` + `config.yaml`, which holds the
run config it was trained with), or a training checkpoint file `RUN/checkpoints/step_*.pt`
(read with the run's `config.yaml`). `key=value` overrides apply on top of that config (e.g.
other stores, `train.device=cpu`, `recipe=itm` for zero-shot retrieval of a pre-trained
model). Output goes to `out=` (default `<run>/eval`): `metrics.json` ({split: metrics} plus
what was evaluated), `config.yaml`, and `predictions/<task>_<split>.*` in the official formats.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml
from torch import nn

from vlkit.config import RunConfig, build_config
from vlkit.configtools import merge, overrides_to_dict
from vlkit.evaluation import TaskEvaluation, task_evaluation
from vlkit.evaluation.splits import SPLITS, eval_image_stores, evaluate_splits, split_stores
from vlkit.models.io import CONFIG, WEIGHTS, load_state_dict_checked, read_state_dict
from vlkit.models.zoo import build_model, family
from vlkit.runs.context import setup_run
from vlkit.runs.stores import check_dims
from vlkit.text.tokenizer import get_tokenizer
from vlkit.train.checkpoint import latest_checkpoint
from vlkit.train.precision import resolve_precision
from vlkit.utils.atomic import atomic_write_json
from vlkit.utils.errors import CheckpointError, ConfigError
from vlkit.utils.output_lock import claim_output, is_main_process
from vlkit.utils.suggest import missing_path

log = logging.getLogger(__name__)
TYPE_TABLE = "uniter.embeddings.token_type_embeddings.weight"


@dataclass
class EvalSource:
    """Where the weights and their run config come from."""

    weights: Path
    config: Path
    out: Path  # default output folder


def find_source(src: str | Path) -> EvalSource:
    """Resolve RUN_DIR | MODEL_DIR | CHECKPOINT_FILE to weights + config."""
    path = Path(src)
    if not path.exists():
        raise CheckpointError(missing_path(path))
    if path.is_file():
        run = path.parent.parent if path.parent.name == "checkpoints" else path.parent
        return EvalSource(path, run / CONFIG, run / "eval")
    if (path / WEIGHTS).is_file():
        run = path.parent if path.name == "model" and (path.parent / CONFIG).is_file() else path
        return EvalSource(path / WEIGHTS, path / CONFIG, run / "eval")
    if (path / "model" / WEIGHTS).is_file():
        return EvalSource(path / "model" / WEIGHTS, path / "model" / CONFIG, path / "eval")
    newest = latest_checkpoint(path) if path.is_dir() else None
    if newest is not None:
        return EvalSource(newest, path / CONFIG, path / "eval")
    raise CheckpointError(f"{src}: expected a run directory (with model/ or checkpoints/), a "
                          f"model folder with {WEIGHTS}, or a checkpoint file")


def read_run_config(path: Path) -> dict:
    if not path.is_file():
        raise CheckpointError(f"{path}: missing; the run config is needed to evaluate")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or not isinstance(raw.get("model"), dict):
        raise CheckpointError(f"{path}: expected a run config with a 'model:' mapping")
    return raw


def load_config(source: EvalSource, overrides: list[str], sd: dict[str, torch.Tensor]
                ) -> RunConfig:
    """The run's config, fitted to the weights' token-type table, plus the overrides."""
    raw = read_run_config(source.config)
    if TYPE_TABLE in sd:  # NLVR2 grows the table after the run config was written
        raw["model"]["type_vocab_size"] = int(sd[TYPE_TABLE].shape[0])
    given = overrides_to_dict(overrides)
    raw = merge(raw, given)
    if "out" not in given:
        raw["out"] = str(source.out)
    return build_config(raw)


def check_vocab_fits(cfg: RunConfig, config: Path) -> None:
    """ConfigError when text.vocab has more tokens than the model's word embeddings: its ids
    would index past them (an IndexError deep in the model otherwise). A vocabulary that is
    not here (a UNITER txt_db's bert-base-cased) passes: evaluation reads stored ids, and
    prediction of new text asks for the file (vlkit.runs.text_vocab.predict_tokenizer)."""
    try:
        size = len(get_tokenizer(cfg.text.vocab, cfg.text.lowercase))
    except ConfigError:
        return
    if size > cfg.model.vocab_size:
        raise ConfigError(f"{config}: text.vocab {cfg.text.vocab!r} has {size} tokens but the "
                          f"model has vocab_size={cfg.model.vocab_size}; set text.vocab to the "
                          "vocabulary the model was trained with (a shipped name or a "
                          "vocab.txt path)")


def load_eval_model(cfg: RunConfig, sd: dict[str, torch.Tensor]) -> nn.Module:
    """The task's model loader when it has one, else a model with exactly the weights' heads."""
    module = task_evaluation(cfg.recipe)
    if hasattr(module, "load_eval_model"):
        return module.load_eval_model(cfg, sd)
    heads, answers = family(cfg.model.arch).heads_in(sd)
    model = build_model(cfg.model, heads=heads, num_answers=answers)
    load_state_dict_checked(model, sd, strict=True, source="checkpoint")
    return model


def run_eval(src: str | Path, overrides: list[str] | None = None,
             splits: tuple[str, ...] = SPLITS) -> dict:
    """Evaluate `src` on `splits`; write metrics.json and predictions; return the metrics
    (on the main process; {} on the others under torchrun)."""
    source = find_source(src)
    sd = read_state_dict(source.weights)
    cfg = load_config(source, list(overrides or []), sd)
    check_vocab_fits(cfg, source.config)
    module = task_evaluation(cfg.recipe)
    if not any(split_stores(cfg, s) for s in splits):
        raise ConfigError(f"nothing to evaluate: no text stores for split(s) {', '.join(splits)}"
                          " (set data.val_txt / data.test_txt)")
    with claim_output(cfg.out, "eval", enabled=is_main_process()):  # one writer per output
        return _evaluate(source, sd, cfg, module, splits)


def _evaluate(source: EvalSource, sd: dict[str, torch.Tensor], cfg: RunConfig,
              module: TaskEvaluation, splits: tuple[str, ...]) -> dict:
    ctx = setup_run(cfg)
    try:
        model = load_eval_model(cfg, sd)
    except CheckpointError as err:
        raise CheckpointError(f"{source.weights}: {err}") from err
    check_dims(cfg, eval_image_stores(cfg)[0], None)
    log.info("evaluating %s (%s) -> %s", source.weights, cfg.recipe, ctx.run_dir)
    results = {"source": str(source.weights), "recipe": cfg.recipe,
               "precision": resolve_precision(cfg.train.precision, ctx.device),
               **evaluate_splits(model, cfg, ctx, module.task_eval(cfg, ctx, model), splits)}
    if not ctx.dist.is_main:
        return {}  # the main process writes and reports
    atomic_write_json(ctx.run_dir / "metrics.json", results)
    return results
