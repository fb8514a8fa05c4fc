"""Loaders: (dataset, batch sampler, masking, collate) -> an iterator of typed batches.

Batch k of epoch e on rank r of W is global batch g = k * W + r of the epoch (the sampler
deals global batches round-robin), and a pure function of (seed, e, g): its example indices
come from the sampler's plan, and its random draws (masking) from a generator keyed by
(seed, e, g) -- not by the rank, so W ranks with batch B see exactly the batches (masks
included) that one process with batch B and grad_accum=W sees. ITM negatives are drawn per
epoch by the dataset (`set_epoch`). So a batch is the same whether built in this process or
in a DataLoader worker, and a run resumed from `state_dict()` continues with exactly the
batches it would have seen.

State of a `BatchLoader`: {"epoch", "position", "seed"} where position counts the batches
of this rank already *delivered* to the caller in that epoch (prefetched-but-unused batches
in workers do not count). A `MultiTaskLoader` adds the task sampler's step and every task
loader's state. Load a state before starting to iterate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import torch
from torch.utils.data import DataLoader

from vlkit.data.masking import Transform
from vlkit.data.rng import make_generator
from vlkit.data.sampling import EpochBatchSampler, TaskSampler
from vlkit.utils.errors import ConfigError

Collate = Callable[[Sequence], object]  # typed examples (vlkit.data.examples) -> a batch
# Stream tag of the masking generators (4 keys; other data streams use 3 keys). Tag 0 keeps
# single-process masks what they were when the key was (seed, epoch, rank=0, position).
_MASK_STREAM = 0


def _one_thread(_worker_id: int) -> None:
    torch.set_num_threads(1)


class _EpochView(torch.utils.data.Dataset):
    """Map-style view of one epoch: item k is the collated batch at position k."""

    def __init__(self, loader: BatchLoader, epoch: int):
        self.loader, self.epoch = loader, epoch

    def __len__(self) -> int:
        return len(self.loader.plan)

    def __getitem__(self, position: int):
        return self.loader.build(self.epoch, position)


class BatchLoader:
    """Typed batches of one task.

    dataset: indexable, optionally with `set_epoch(epoch)` (called at each epoch start).
    sampler: an EpochBatchSampler (its rank/world_size shard the batches).
    collate: examples -> typed batch (see `vlkit.data.collate.COLLATE`).
    transform: optional masker `(examples, generator) -> examples` (whole batch at once).
    infinite: keep going epoch after epoch (step-budgeted training); else stop at epoch end.
    num_workers > 0 builds batches in DataLoader worker processes (1 torch thread each).
    """

    def __init__(self, dataset, sampler: EpochBatchSampler, collate: Collate,
                 transform: Transform | None = None, seed: int = 0, infinite: bool = False,
                 num_workers: int = 0, pin_memory: bool = False, prefetch_factor: int = 2):
        self.dataset, self.sampler, self.collate = dataset, sampler, collate
        self.transform, self.seed, self.infinite = transform, seed, infinite
        self.num_workers, self.pin_memory, self.prefetch_factor = (num_workers, pin_memory,
                                                                   prefetch_factor)
        self.epoch, self.position = 0, 0
        self.plan: list[list[int]] = []

    def start_epoch(self, epoch: int) -> None:
        """Tell the dataset the epoch and fix this rank's batch plan for it."""
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)
        self.plan = self.sampler.epoch_batches(epoch)

    def build(self, epoch: int, position: int):
        """The collated batch at `position` of `epoch` (after `start_epoch(epoch)`)."""
        global_index = position * self.sampler.world_size + self.sampler.rank
        gen = make_generator(self.seed, epoch, _MASK_STREAM, global_index)
        examples = [self.dataset[i] for i in self.plan[position]]
        if self.transform is not None:
            examples = self.transform(examples, gen)
        return self.collate(examples)

    def _batches(self, epoch: int, start: int) -> Iterator:
        if self.num_workers == 0:
            return (self.build(epoch, k) for k in range(start, len(self.plan)))
        return iter(DataLoader(_EpochView(self, epoch), batch_size=None,
                               sampler=range(start, len(self.plan)),
                               num_workers=self.num_workers, pin_memory=self.pin_memory,
                               prefetch_factor=self.prefetch_factor,
                               worker_init_fn=_one_thread))

    def __iter__(self) -> Iterator:
        while True:
            self.start_epoch(self.epoch)
            for batch in self._batches(self.epoch, self.position):
                self.position += 1  # before yielding: a state saved now excludes this batch
                yield batch
            self.epoch, self.position = self.epoch + 1, 0
            if not self.infinite:
                return

    def __len__(self) -> int:
        """Batches of this rank in the current epoch."""
        return len(self.sampler.epoch_batches(self.epoch))

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "position": self.position, "seed": self.seed}

    def load_state_dict(self, state: dict) -> None:
        if state.get("seed") != self.seed:
            raise ConfigError(f"loader state has seed={state.get('seed')}, this run has "
                              f"{self.seed}; resume with the same seed")
        self.epoch, self.position = int(state["epoch"]), int(state["position"])


class MultiTaskLoader:
    """UNITER's MetaLoader: each step draws a task, then yields that task's next batch.

    loaders: task name -> infinite BatchLoader. Batches carry `.task`. Runs forever.
    State: {"tasks": TaskSampler state, "loaders": {name: BatchLoader state}}.
    """

    def __init__(self, loaders: dict[str, BatchLoader], task_sampler: TaskSampler):
        missing = set(task_sampler.names) - set(loaders)
        if missing:
            raise ConfigError(f"task sampler names tasks without a loader: {sorted(missing)}")
        if not all(loader.infinite for loader in loaders.values()):
            raise ConfigError("MultiTaskLoader needs infinite task loaders (infinite=True)")
        self.loaders, self.task_sampler = loaders, task_sampler

    def __iter__(self) -> Iterator:
        iters: dict[str, Iterator] = {}
        for task in self.task_sampler:
            if task not in iters:
                iters[task] = iter(self.loaders[task])
            yield next(iters[task])

    def state_dict(self) -> dict:
        return {"tasks": self.task_sampler.state_dict(),
                "loaders": {name: ld.state_dict() for name, ld in self.loaders.items()}}

    def load_state_dict(self, state: dict) -> None:
        self.task_sampler.load_state_dict(state["tasks"])
        for name, loader in self.loaders.items():
            loader.load_state_dict(state["loaders"][name])
