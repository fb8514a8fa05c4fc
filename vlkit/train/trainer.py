"""The one training loop: accumulation, clipping, mixed precision, DDP, logging, exact resume.

The loop knows nothing about tasks. It sees:
- an `Objective`: `objective(model, batch) -> (loss, logs)` — the one place a batch meets a model;
  its optional `uses_all_parameters` lets DDP skip the search for unused parameters;
- a `BatchStream`: an endless iterable of batches (each with `.to(device)`) whose position can be
  saved and restored (`state_dict`/`load_state_dict`), so a resumed run sees the same batches;
- an optional `evaluate(model) -> dict[str, float]` run on rank 0 every `val_every` steps;
  with `keep_best` the best validation's weights are what the model holds at the end
  (vlkit.train.best), and `early_stop_patience` ends training early.
Re-running on a run directory that has checkpoints resumes from the newest one.

Logged values stay on the device as float64 sums until a log line (or a checkpoint) needs
them: one host sync per log line, not one per micro-batch. The non-finite check reads one
device flag per optimizer step.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import torch
from torch import nn

from vlkit.train import checkpoint as ckpt
from vlkit.train.best import BestTracker, load_best_weights, save_best_weights
from vlkit.train.config import TrainConfig
from vlkit.train.distributed import DistInfo, barrier, gather_objects, mean_across_ranks
from vlkit.train.optim import optimizer_for
from vlkit.train.plots import plot_curves
from vlkit.train.precision import (
    autocast,
    machine_summary,
    make_grad_scaler,
    resolve_precision,
)
from vlkit.train.schedule import set_lr
from vlkit.train.writers import MetricsWriter, read_metrics
from vlkit.utils.errors import CheckpointError, ConfigError, VlkitError

if TYPE_CHECKING:
    from tqdm import tqdm

log = logging.getLogger(__name__)

Logs = dict[str, torch.Tensor | float]  # scalar logs: 0-dim tensors (detached) or numbers
Evaluate = Callable[[nn.Module], dict[str, float]]


class Objective(Protocol):
    """`objective(model, batch) -> (loss, logs)`.

    An objective may also set `uses_all_parameters = True` when every batch it sees gives every
    trainable parameter of the model a gradient; DDP then skips its per-step search for unused
    parameters (`find_unused_parameters=False`). Without it the trainer assumes some
    parameters go unused (a head another task trains, UNITER's region mask embedding outside
    pre-training), which is always correct, only slower. A wrong `True` fails loudly under DDP.
    """

    def __call__(self, model: nn.Module, batch: Any) -> tuple[torch.Tensor, Logs]: ...


class BatchStream(Protocol):
    def __iter__(self) -> Iterator[Any]: ...
    def state_dict(self) -> dict[str, Any]: ...
    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def find_unused_parameters(objective: Objective) -> bool:
    """DDP's `find_unused_parameters` for `objective`: False only when it says it uses every
    parameter (the conservative default is True)."""
    return not getattr(objective, "uses_all_parameters", False)


class _ObjectiveModule(nn.Module):
    """Routes the objective through one `forward` so DDP sees (and syncs) every used weight."""

    def __init__(self, model: nn.Module, objective: Objective) -> None:
        super().__init__()
        self.model = model
        self.objective = objective

    def forward(self, batch: Any) -> tuple[torch.Tensor, Logs]:
        return self.objective(self.model, batch)


def _wrap(model: nn.Module, objective: Objective, dist: DistInfo,
          device: torch.device) -> nn.Module:
    module = _ObjectiveModule(model, objective)
    if not dist.enabled:
        return module
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(
        module, device_ids=ids, find_unused_parameters=find_unused_parameters(objective))


def _restore(run_dir: Path, model: nn.Module, optimizer: torch.optim.Optimizer,
             scaler: torch.amp.GradScaler, batches: BatchStream, dist: DistInfo,
             best: BestTracker | None, machine: dict[str, Any]
             ) -> tuple[int, list[dict[str, Any]] | None]:
    """(step, the log window's partial sums) of the newest checkpoint; (0, None) if none.
    `machine` takes the one the checkpoint was written on."""
    path = ckpt.latest_checkpoint(run_dir)
    if path is None:
        return 0, None
    state = ckpt.load_checkpoint(path)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scaler.load_state_dict(state["scaler"])
    batches.load_state_dict(state["data"])
    if best is not None and "best" in state:
        best.load_state_dict(state["best"])
    machine.update(state.get("machine", {}))
    ckpt.set_rng_state(_rank_rng(state, dist, path))
    log.info("resumed from %s (step %d)", path, state["step"])
    return int(state["step"]), state.get("log_window")


def _rank_rng(state: dict[str, Any], dist: DistInfo, path: Path) -> Any:
    """This rank's saved RNG state: ranks draw different amounts (dropout over batches of
    different shapes), so each rank resumes its own stream."""
    per_rank = state.get("rng_ranks")
    if per_rank is None:
        return state["rng"]
    if len(per_rank) != dist.world_size:
        raise CheckpointError(f"{path}: saved by {len(per_rank)} processes, this run has "
                              f"{dist.world_size}; resume with the same number of processes")
    return per_rank[dist.rank]


def train(
    model: nn.Module,
    objective: Objective,
    batches: BatchStream,
    cfg: TrainConfig,
    run_dir: str | Path,
    device: torch.device,
    dist: DistInfo | None = None,
    evaluate: Evaluate | None = None,
) -> dict[str, Any]:
    """Train `model` for `cfg.total_steps` optimizer steps (fewer when it stops early); return
    the last logged values, plus `best` ({metric, value, step, stopped_early}) with keep_best."""
    dist = dist or DistInfo()
    best = _best_tracker(cfg, evaluate)
    run_dir = Path(run_dir)
    cfg = dataclasses.replace(cfg, precision=resolve_precision(cfg.precision, device))
    log.info("training on %s in %s", device, cfg.precision)
    model.to(device)
    if cfg.compile:
        model.compile()  # in place: parameter names (and checkpoints) stay the same
    optimizer = optimizer_for(model, cfg)
    scaler = make_grad_scaler(cfg.precision, device)
    machine = machine_summary(device, cfg.precision)
    saved_machine: dict[str, Any] = {}
    step, resumed_window = _restore(run_dir, model, optimizer, scaler, batches, dist, best,
                                    saved_machine)
    start_step = step
    stream = iter(batches)  # after restoring: loaders start from the saved position
    wrapped = _wrap(model, objective, dist, device)
    writer = MetricsWriter(run_dir, enabled=dist.is_main, resume_step=step)
    bar = _progress(cfg, dist, step)
    window = _LogWindow.restored(resumed_window, dist)
    last: dict[str, Any] = {}
    wrapped.train()
    try:  # a failed run closes its writers too (TensorBoard's thread must not outlive it)
        while step < cfg.total_steps and not (best is not None and best.should_stop):
            lr = set_lr(optimizer, step, cfg)
            micro = _accumulate(wrapped, stream, cfg, device, scaler)
            grad_norm = _optimizer_step(model, optimizer, scaler, cfg, micro, step + 1)
            step += 1
            if grad_norm is not None:  # None: a skipped non-finite step logs nothing
                window.add(micro)
            if bar is not None:
                bar.update(1)
            if step % cfg.log_every == 0 or step == cfg.total_steps:
                logs = mean_across_ranks(window.means(), device)
                logs.update(lr=lr, grad_norm=grad_norm if grad_norm is not None else math.nan,
                            samples_per_s=window.items_per_s() * dist.world_size)
                writer.write(step, logs)
                last = logs
                if bar is not None:
                    bar.set_postfix({k: f"{v:.3g}" for k, v in logs.items() if "loss" in k})
                window.reset()
            if evaluate is not None and (step % cfg.val_every == 0 or step == cfg.total_steps):
                results = _validate(model, evaluate, writer, step, dist)
                if best is not None:
                    _track_best(best, results, step, model, run_dir, dist)
                wrapped.train()
            stopping = best is not None and best.should_stop
            if step % cfg.ckpt_every == 0 or step == cfg.total_steps or stopping:
                _save(run_dir, step, model, optimizer, scaler, batches, cfg, dist, window,
                      best, machine)
            if stopping:
                log.info("step %d: no better %s in %d validations; stopping early (best "
                         "%.4g at step %d)", step, best.metric, best.patience, best.value,
                         best.step)
    finally:
        if bar is not None:
            bar.close()
        writer.close()
    if step == start_step and step > 0:  # a finished run re-run: report its own figures
        log.info("%s already trained to step %d; nothing to train", run_dir, step)
        last = _last_logged(run_dir)
        machine = saved_machine or machine
    last = {**last, "machine": machine}
    if dist.is_main:
        plot_curves(run_dir)
    if best is not None and best.value is not None:
        if load_best_weights(run_dir, model):
            log.info("model holds the best validation's weights: %s=%.4g at step %d",
                     best.metric, best.value, best.step)
        last = {**last, "best": best.summary()}
    return last


def _last_logged(run_dir: Path) -> dict[str, Any]:
    """The last training line of RUN/metrics.jsonl (what the run returned when it ended)."""
    rows = [r for r in read_metrics(run_dir / "metrics.jsonl") if r.get("kind") == "train"]
    return {k: v for k, v in rows[-1].items() if k not in ("step", "kind", "time")} if rows else {}


def _best_tracker(cfg: TrainConfig, evaluate: Evaluate | None) -> BestTracker | None:
    if cfg.early_stop_patience < 0:
        raise ConfigError("config key 'train.early_stop_patience': expected >= 0, got "
                          f"{cfg.early_stop_patience}")
    if cfg.early_stop_patience and not cfg.keep_best:
        raise ConfigError("config key 'train.early_stop_patience' needs train.keep_best=METRIC "
                          "(the validation metric whose improvement it waits for)")
    if not cfg.keep_best:
        return None
    if evaluate is None:
        raise ConfigError("config key 'train.keep_best': this recipe runs no validation during "
                          "training; leave keep_best empty")
    return BestTracker(cfg.keep_best, cfg.early_stop_patience)


def _track_best(best: BestTracker, results: dict[str, Any], step: int, model: nn.Module,
                run_dir: Path, dist: DistInfo) -> None:
    """Update `best` on the main process (the only one that validates) and share it."""
    if dist.is_main and best.update(results, step):
        save_best_weights(run_dir, model)
    state = gather_objects(best.state_dict())[0]
    best.load_state_dict(state)


def _progress(cfg: TrainConfig, dist: DistInfo, step: int) -> tqdm | None:
    if not (cfg.progress and dist.is_main):
        return None
    from tqdm.auto import tqdm

    return tqdm(total=cfg.total_steps, initial=step, desc="train", dynamic_ncols=True)


@dataclasses.dataclass
class _MicroBatches:
    """What one optimizer step's micro-batches left behind: their logs (float64 tensors on the
    device, or numbers), whether any loss was non-finite (a device flag, read once per step),
    and who they were (for the error)."""

    logs: list[Logs]
    bad_loss: torch.Tensor  # () bool
    tasks: list[str]
    record_ids: list[str]
    items: int


def _accumulate(wrapped: nn.Module, stream: Iterator[Any], cfg: TrainConfig,
                device: torch.device, scaler: torch.amp.GradScaler) -> _MicroBatches:
    """Forward/backward `grad_accum` micro-batches; gradients sync only on the last one."""
    out = _MicroBatches([], torch.zeros((), dtype=torch.bool, device=device), [], [], 0)
    for micro in range(cfg.grad_accum):
        batch = next(stream).to(device)
        last = micro == cfg.grad_accum - 1
        defer = not last and hasattr(wrapped, "no_sync")  # DDP: all-reduce only once per step
        sync = wrapped.no_sync() if defer else contextlib.nullcontext()
        with sync:
            with autocast(cfg.precision, device):
                loss, logs = wrapped(batch)
            scaler.scale(loss / cfg.grad_accum).backward()
        out.bad_loss |= ~torch.isfinite(loss.detach())
        out.logs.append({key: _detached(value) for key, value in logs.items()})
        out.tasks.append(str(getattr(batch, "task", type(batch).__name__)))
        out.record_ids += _record_ids(batch)
        out.items += int(getattr(batch, "size", 0) or 0)
    return out


def _detached(value: torch.Tensor | float) -> torch.Tensor | float:
    """A log value kept where it is: a tensor stays on its device (float64, so sums match
    Python's float arithmetic), a number stays a number. No host sync."""
    if isinstance(value, torch.Tensor):
        return value.detach().to(torch.float64)
    return float(value)


def _as_floats(values: dict[str, torch.Tensor | float]) -> dict[str, float]:
    """`values` as Python floats, with one host sync for all the tensors among them."""
    keys = [k for k, v in values.items() if isinstance(v, torch.Tensor)]
    out = {k: float(v) for k, v in values.items() if not isinstance(v, torch.Tensor)}
    if keys:
        synced = torch.stack([values[k].reshape(()) for k in keys]).tolist()
        out.update(zip(keys, synced, strict=True))
    return {k: out[k] for k in values}


def _record_ids(batch: Any) -> list[str]:
    """The ids of the records in `batch`, from whichever field its type carries them in."""
    inputs = getattr(batch, "inputs", None)
    for holder, name in ((inputs, "record_ids"), (batch, "ids"), (batch, "qids")):
        ids = getattr(holder, name, None)
        if isinstance(ids, list | tuple):
            return [str(i) for i in ids]
    return []


class NonFiniteError(VlkitError):
    """A non-finite loss or gradient under `train.on_nonfinite=error`."""


def _optimizer_step(model: nn.Module, optimizer: torch.optim.Optimizer,
                    scaler: torch.amp.GradScaler, cfg: TrainConfig, micro: _MicroBatches,
                    step: int) -> float | None:
    """Unscale, clip and step; the gradient norm, or None when the step was skipped.

    A non-finite loss, or a non-finite gradient outside fp16 (where the grad scaler skips
    overflowing steps by design), never reaches the weights: it raises NonFiniteError or,
    with `train.on_nonfinite=skip_batch`, drops this step's gradients.
    """
    scaler.unscale_(optimizer)
    params = [p for p in model.parameters() if p.grad is not None]
    max_norm = cfg.grad_clip if cfg.grad_clip > 0 else math.inf  # inf: measure, don't clip
    norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
    # The step's one host sync: the loss flag and the norm read together.
    flag, norm_value = torch.stack([micro.bad_loss.to(norm), norm.detach()]).tolist()
    bad_loss = flag != 0
    bad_grad = not math.isfinite(norm_value) and cfg.precision != "fp16"
    if bad_loss or bad_grad:
        what = "loss" if bad_loss else f"gradient (norm {norm_value})"
        ids = ", ".join(micro.record_ids[:20]) or "not carried by this batch type"
        more = f" and {len(micro.record_ids) - 20} more" if len(micro.record_ids) > 20 else ""
        message = (f"non-finite {what} at step {step} (task {'/'.join(dict.fromkeys(micro.tasks))}"
                   f"; records {ids}{more})")
        if cfg.on_nonfinite == "error":
            raise NonFiniteError(f"{message}; nothing after the previous checkpoint was saved. "
                                 "Check the stores with `vlkit data validate`, or lower "
                                 "train.lr; train.on_nonfinite=skip_batch skips such steps")
        log.warning("%s: step skipped (train.on_nonfinite=skip_batch)", message)
        optimizer.zero_grad(set_to_none=True)
        scaler.update()
        return None
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)
    return norm_value


class _LogWindow:
    """Sums of the logged values since the last log line, kept on the device until `means` or
    `state_dict` reads them. Saved in checkpoints, so a resumed run's first line averages the
    same steps as the uninterrupted run's."""

    def __init__(self, sums: dict[str, float] | None = None,
                 counts: dict[str, int] | None = None, items: int = 0,
                 seconds: float = 0.0) -> None:
        self.sums: dict[str, torch.Tensor | float] = dict(sums or {})
        self.counts: dict[str, int] = defaultdict(int, counts or {})
        self.items = items
        self.start = time.perf_counter() - seconds

    @classmethod
    def restored(cls, per_rank: list[dict[str, Any]] | None, dist: DistInfo) -> _LogWindow:
        """This rank's window from a checkpoint (ranks log different values until averaged)."""
        if not per_rank:
            return cls()
        state = per_rank[dist.rank] if len(per_rank) == dist.world_size else per_rank[0]
        return cls(state["sums"], state["counts"], int(state["items"]), float(state["seconds"]))

    def state_dict(self) -> dict[str, Any]:
        return {"sums": _as_floats(self.sums), "counts": dict(self.counts), "items": self.items,
                "seconds": time.perf_counter() - self.start}

    def add(self, micro: _MicroBatches) -> None:
        for logs in micro.logs:
            for key, value in logs.items():
                self.sums[key] = self.sums.get(key, 0.0) + value
                self.counts[key] += 1
        self.items += micro.items

    def means(self) -> dict[str, float]:
        sums = _as_floats(self.sums)
        return {k: sums[k] / self.counts[k] for k in sums}

    def items_per_s(self) -> float:
        return self.items / max(time.perf_counter() - self.start, 1e-9)

    def reset(self) -> None:
        self.sums.clear()
        self.counts.clear()
        self.items = 0
        self.start = time.perf_counter()


def _validate(model: nn.Module, evaluate: Evaluate, writer: MetricsWriter, step: int,
              dist: DistInfo) -> dict[str, Any]:
    """The validation results on the main process ({} on the others)."""
    results: dict[str, Any] = {}
    if dist.is_main:
        model.eval()
        with torch.no_grad():
            results = evaluate(model)
        writer.write(step, results, kind="val")
        log.info("step %d validation: %s", step,
                 ", ".join(f"{k}={v:.4g}" for k, v in results.items() if isinstance(v, float)))
    barrier()
    return results


def _save(run_dir: Path, step: int, model: nn.Module, optimizer: torch.optim.Optimizer,
          scaler: torch.amp.GradScaler, batches: BatchStream, cfg: TrainConfig, dist: DistInfo,
          window: _LogWindow, best: BestTracker | None, machine: dict[str, Any]) -> None:
    rng_ranks = gather_objects(ckpt.rng_state()) if dist.enabled else None
    windows = gather_objects(window.state_dict()) if dist.enabled else [window.state_dict()]
    if dist.is_main:
        state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                 "scaler": scaler.state_dict(), "data": batches.state_dict(),
                 "log_window": windows, "machine": machine}
        if best is not None:
            state["best"] = best.state_dict()
        if rng_ranks is not None:
            state["rng_ranks"] = rng_ranks
        ckpt.save_checkpoint(run_dir, step, state, keep=cfg.keep_checkpoints)
    barrier()
