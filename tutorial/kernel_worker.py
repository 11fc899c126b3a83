"""Run a recipe's worker inside this process -- a Jupyter kernel, a test -- instead of as
``python -m recipes.<recipe>.worker`` in a terminal:

    worker = await start_in_kernel(build_worker(client, task_queue=task_queue))
    ...
    await worker.stop()

The worker then shares the notebook's process: the offline model's latency setting, the
traces and the environment (``NWS_API_URL``) are the notebook's. Notebook machinery, not a
recipe: a deployed worker runs in its own process (``recipes/core/worker.py``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from temporalio.worker import Worker

__all__ = ["KernelWorker", "start_in_kernel"]


@dataclass
class KernelWorker:
    """A worker running as an asyncio task in this process."""

    worker: Worker
    task: asyncio.Task

    @property
    def running(self) -> bool:
        return not self.task.done()

    async def stop(self, timeout: float = 15.0) -> None:
        """Graceful shutdown; safe to call twice."""
        if not self.task.done():
            await self.worker.shutdown()
        await asyncio.wait_for(asyncio.shield(self.task), timeout=timeout)


async def start_in_kernel(worker: Worker) -> KernelWorker:
    """Run ``worker`` as a task; returns once it is polling."""
    task = asyncio.create_task(worker.run())
    await asyncio.sleep(0.2)  # let it start polling; a failed start shows up here
    if task.done():
        task.result()  # raises the start-up error
    return KernelWorker(worker, task)
