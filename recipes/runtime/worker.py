"""Run a Temporal worker for agent workflows: the piece every recipe's
``worker.py`` calls, so the model switch, tracing and shutdown live in one place.

A recipe's entrypoint is a few lines::

    from recipes.runtime.worker import run_worker_main
    run_worker_main(task_queue="weather-agent", workflows=[...], activities=[...],
                    model_params=MODEL_PARAMS)

and is started with ``python -m recipes.<recipe>.worker`` — from a terminal, or
from a notebook through :mod:`recipes.runtime.processes`, which can SIGKILL it.
It prints ``READY_TEXT`` once polling so a parent knows when it is up.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from collections.abc import Callable, Sequence
from typing import Any

from temporalio.openai_agents import ModelActivityParameters, OpenAIAgentsPlugin
from temporalio.worker import Worker

from recipes.runtime.models import choose_model
from recipes.runtime.processes import exit_with_parent
from recipes.runtime.settings import TemporalSettings, connect, run_script
from recipes.runtime.tracing import install_tracing

READY_TEXT = "Worker ready"


def worker_identity() -> str:
    """pid@host, the form Temporal uses; it is what the history shows per step."""
    return f"{os.getpid()}@{socket.gethostname()}"


async def run_worker(
    *,
    task_queue: str,
    workflows: Sequence[type] = (),
    activities: Sequence[Callable] = (),
    model_params: ModelActivityParameters,
    **worker_options: Any,
) -> None:
    """Connect, register, poll until SIGTERM/SIGINT, then shut down gracefully.

    ``worker_options`` go to ``temporalio.worker.Worker`` as they are (e.g.
    ``max_concurrent_activities``, ``sticky_queue_schedule_to_start_timeout``).
    """
    install_tracing()
    choice = choose_model()
    plugin = OpenAIAgentsPlugin(model_params=model_params, model_provider=choice.provider())
    client = await connect(TemporalSettings.load(), plugins=[plugin])
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=list(workflows),
        activities=list(activities),
        identity=worker_identity(),
        **worker_options,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with worker:
        print(
            f"{READY_TEXT}: task queue {task_queue!r}, identity {worker_identity()}, "
            f"model {choice.describe()}",
            flush=True,
        )
        await stop.wait()
    print("Worker stopped", flush=True)


def run_worker_main(**kwargs) -> None:
    """Blocking entrypoint for ``python -m recipes.<recipe>.worker``."""
    exit_with_parent()
    run_script(run_worker(**kwargs))
