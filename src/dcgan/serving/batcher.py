"""Micro-batching: concurrent generate calls for one model become one generator call."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from dcgan.bundle import FaceGenerator
from dcgan.serving.limits import MAX_BATCH


@dataclass
class MicroBatcher:
    """Runs concurrent generate calls as one generator call (optionally waiting `window_s` for more)."""

    model: FaceGenerator
    executor: ThreadPoolExecutor
    window_s: float = 0.0
    max_batch: int = MAX_BATCH
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)

    async def generate(self, z: np.ndarray) -> np.ndarray:
        future = asyncio.get_running_loop().create_future()
        await self.queue.put((z, future))
        return await future

    async def run(self) -> None:
        """Dynamic batching: take every request already waiting (plus any arriving within `window_s`).

        Under load, requests queue up while the generator runs, so batches grow with the load; a lone
        request never waits for a timer.
        """
        loop = asyncio.get_running_loop()
        while True:
            items = [await self.queue.get()]
            await asyncio.sleep(0)  # let requests that are already parsed reach the queue
            size = len(items[0][0])
            deadline = loop.time() + self.window_s
            while size < self.max_batch:
                try:
                    item = self.queue.get_nowait()
                except asyncio.QueueEmpty:
                    if (timeout := deadline - loop.time()) <= 0:
                        break
                    try:
                        item = await asyncio.wait_for(self.queue.get(), timeout)
                    except TimeoutError:
                        break
                items.append(item)
                size += len(item[0])
            batch = np.concatenate([z for z, _ in items])
            try:
                images = await loop.run_in_executor(self.executor, self.model.generate, batch)
            except Exception as exc:  # hand the failure to every waiting request
                for _, future in items:
                    if not future.done():
                        future.set_exception(exc)
                continue
            start = 0
            for z, future in items:
                if not future.done():
                    future.set_result(images[start : start + len(z)])
                start += len(z)
