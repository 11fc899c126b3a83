"""Run a Temporal worker for agent workflows: the model switch, tracing and
shutdown in one place, so each recipe's ``worker.py`` is a few lines.

Written out (``recipes/weather/worker.py`` does this)::

    plugin, model = agents_plugin(MODEL_PARAMS)
    client = await connect(TemporalSettings.load(), plugins=[plugin])
    worker = Worker(client, task_queue="weather-agent", workflows=[...], activities=[...])
    await serve(worker, model=model)

or in one call::

    run_worker_main(task_queue="weather-agent", workflows=[...], activities=[...],
                    model_params=MODEL_PARAMS)

and is started with ``python -m recipes.<recipe>.worker`` — from a terminal, or
from a notebook through :mod:`recipes.tutorial.processes`, which can SIGKILL it.
It prints ``READY_TEXT`` once polling so a parent knows when it is up.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from temporalio.openai_agents import ModelActivityParameters, OpenAIAgentsPlugin
from temporalio.worker import Worker

from recipes.core.models import ModelChoice, choose_model
from recipes.core.scripts import run_script
from recipes.core.settings import TemporalSettings, connect
from recipes.core.tracing import install_tracing

READY_TEXT = "Worker ready"
#: Set by a parent that starts workers as child processes (the notebooks do);
#: see :func:`exit_with_parent`.
PARENT_PID_ENV = "TUTORIAL_PARENT_PID"


def worker_identity() -> str:
    """pid@host, the form Temporal uses; it is what the history shows per step."""
    return f"{os.getpid()}@{socket.gethostname()}"


def agents_plugin(model_params: ModelActivityParameters) -> tuple[OpenAIAgentsPlugin, ModelChoice]:
    """``OpenAIAgentsPlugin`` with the model switch's provider (metered), and the choice
    it made; Agents SDK traces are routed locally first (:func:`install_tracing`)."""
    choice = choose_model()
    install_tracing(model=choice)
    return OpenAIAgentsPlugin(model_params=model_params, model_provider=choice.provider()), choice


async def serve(worker: Worker, *, model: ModelChoice | None = None) -> None:
    """Poll until SIGTERM/SIGINT, then shut down gracefully. Prints ``READY_TEXT``
    once polling, so a parent process (a notebook, a test) knows it is up."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with worker:
        config = worker.config()
        print(f"{READY_TEXT}: task queue {config['task_queue']!r}, identity {config.get('identity') or worker_identity()}"
              + (f", model {model.describe()}" if model else ""), flush=True)  # fmt: skip
        await stop.wait()
    print("Worker stopped", flush=True)


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
    plugin, model = agents_plugin(model_params)
    client = await connect(TemporalSettings.load(), plugins=[plugin])
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=list(workflows),
        activities=list(activities),
        identity=worker_identity(),
        **worker_options,
    )
    await serve(worker, model=model)


def run_worker_main(**kwargs) -> None:
    """Blocking entrypoint for ``python -m recipes.<recipe>.worker``."""
    exit_with_parent()
    run_script(run_worker(**kwargs))


def exit_with_parent(poll_s: float = 0.5) -> None:
    """In a child: exit when the process that started us is gone.

    ``atexit`` in the parent does not run when the parent is SIGKILLed (a
    kernel restart does that); this watchdog is what then ends the child.
    A no-op unless ``TUTORIAL_PARENT_PID`` is set (by
    ``recipes.tutorial.processes.ManagedProcess``).
    """
    parent = os.environ.get(PARENT_PID_ENV)
    if not parent:
        return
    parent_pid = int(parent)

    def watch() -> None:
        while True:
            time.sleep(poll_s)
            if os.getppid() != parent_pid:
                os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
