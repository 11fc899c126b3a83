"""The worker: a process that polls a task queue and runs workflow and activity code.

    python -m recipes.hello_temporal.worker

The Temporal server never runs your code; it hands out tasks on the
``hello-temporal`` task queue (``$HELLO_TASK_QUEUE`` to change it) and records
what the worker reports back. This worker is plain Temporal (no agents, no
model): a ``Worker`` with the workflow and the activity, served until Ctrl-C.
"""

from __future__ import annotations

from temporalio.client import Client
from temporalio.worker import Worker

from recipes.core.scripts import run_script
from recipes.core.settings import connect
from recipes.core.worker import serve, worker_identity
from recipes.hello_temporal.activities import HELLO_ACTIVITIES
from recipes.hello_temporal.workflows import HELLO_WORKFLOWS, default_task_queue


def build_worker(client: Client, task_queue: str | None = None) -> Worker:
    """The worker notebook 02 and the tests run in-process: same code; ``task_queue``
    defaults to :func:`~recipes.hello_temporal.workflows.default_task_queue`."""
    return Worker(
        client,
        task_queue=task_queue or default_task_queue(),
        workflows=HELLO_WORKFLOWS,
        activities=HELLO_ACTIVITIES,
        identity=worker_identity(),
    )


async def main() -> None:
    client = await connect()
    await serve(build_worker(client))  # polls until SIGTERM / Ctrl-C, then shuts down gracefully


if __name__ == "__main__":
    run_script(main())
