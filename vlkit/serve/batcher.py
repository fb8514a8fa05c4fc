"""Micro-batching: concurrent requests to one model are answered by one pipeline call.

A worker takes the first waiting request; if others queued up while the model was busy, it
takes them at once (up to `max_batch`) and runs them; if the request arrived at an idle model,
it waits up to `max_wait_ms` for companions. The batch runs in a worker thread (torch releases
the GIL, so the event loop keeps accepting requests meanwhile).
Requests with different options (top_k, attention, beam size) run as separate batches.
`max_batch=1` answers one request at a time (no batching).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from vlkit.inference.pipeline import Pipeline


class MicroBatcher:
    def __init__(self, pipeline: Pipeline, max_batch: int = 16, max_wait_ms: float = 10.0):
        self.pipeline = pipeline
        self.max_batch = max(1, max_batch)
        self.max_wait = max(0.0, max_wait_ms) / 1000.0
        self.queue: asyncio.Queue | None = None
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vlkit-model")
        self.batches = 0  # pipeline calls made (for tests and /healthz)
        self._worker: asyncio.Task | None = None

    def start(self) -> None:
        self.queue = asyncio.Queue()
        self._worker = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
        self.executor.shutdown(wait=False, cancel_futures=True)

    async def submit(self, item: dict, options: dict[str, Any]) -> dict:
        """The pipeline's result for one input (an {"error", "field"} dict when it is bad)."""
        assert self.queue is not None, "MicroBatcher.start() not called"
        future = asyncio.get_running_loop().create_future()
        await self.queue.put((item, tuple(sorted(options.items())), future))
        return await future

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self.queue.get()]
            backlog = not self.queue.empty()  # requests queued while the model was busy
            while backlog and len(batch) < self.max_batch and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            deadline = loop.time() + (0.0 if backlog else self.max_wait)
            while len(batch) < self.max_batch:
                timeout = deadline - loop.time()
                if timeout <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self.queue.get(), timeout))
                except asyncio.TimeoutError:
                    break
            groups: dict[tuple, list] = defaultdict(list)
            for entry in batch:
                groups[entry[1]].append(entry)
            for options, entries in groups.items():
                await self._run(loop, dict(options), entries)

    async def _run(self, loop, options: dict, entries: list) -> None:
        items = [item for item, _, _ in entries]
        try:
            results = await loop.run_in_executor(self.executor, lambda: self.pipeline.run(
                items, batch_size=len(items), errors="return", **options))
            self.batches += 1
        except Exception as err:  # noqa: BLE001 - every waiting request gets the error
            for _, _, future in entries:
                if not future.done():
                    future.set_exception(err)
            return
        for (_, _, future), result in zip(entries, results, strict=True):
            if not future.done():
                future.set_result(result)
