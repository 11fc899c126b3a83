"""Run a Temporal worker for agent workflows: the plugin that runs model calls as activities through the
model switch, and a polling loop that shuts down gracefully. A recipe's ``worker.py`` writes it out::

    plugin, model = agents_plugin(MODEL_PARAMS)
    client = await connect(plugins=[plugin])
    worker = Worker(client, task_queue="weather-agent", workflows=[...], activities=[...])
    await serve(worker, model=model)

Operations settings (shutdown grace, activity slots, a health endpoint) are :mod:`recipes.core.worker_options`.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from temporalio.openai_agents import ModelActivityParameters
from temporalio.worker import Worker

from recipes.core.agent_failures import AgentsPlugin
from recipes.core.models import ModelChoice, choose_model
from recipes.core.tracing import install_tracing

if TYPE_CHECKING:
    from recipes.core.health import HealthSettings

#: Printed once polling (a parent process waits for it), once a signal starts the drain, and at the end.
READY_TEXT, DRAINING_TEXT, STOPPED_TEXT = "Worker ready", "Worker draining", "Worker stopped"


def worker_identity() -> str:
    """pid@host, the form Temporal uses; it is what the history shows per step."""
    return f"{os.getpid()}@{socket.gethostname()}"


def agents_plugin(model_params: ModelActivityParameters, **options: Any) -> tuple[AgentsPlugin, ModelChoice]:
    """:class:`~recipes.core.agent_failures.AgentsPlugin` (``OpenAIAgentsPlugin`` whose runs end whatever the
    model does) with the model switch's provider, and the choice it made. Traces are routed first;
    ``AGENT_MODEL_TIMEOUTS``, when set, replaces the model calls' timeouts (:mod:`recipes.core.model_timeouts`).
    ``options`` go to the plugin (e.g. ``mcp_servers``)."""
    choice = choose_model()
    install_tracing(model=choice)
    if os.environ.get("AGENT_MODEL_TIMEOUTS", "").strip():
        from recipes.core.model_timeouts import with_model_timeouts

        model_params = with_model_timeouts(model_params)
    return AgentsPlugin(model_params=model_params, model_provider=choice.provider(), **options), choice


async def serve(worker: Worker, *, model: ModelChoice | None = None, health: HealthSettings | None = None) -> None:
    """Poll until SIGTERM/SIGINT, then stop polling and give running activities the worker's
    ``graceful_shutdown_timeout`` to finish (the rest are cancelled and retried on another worker). ``health``:
    where to serve ``/healthz`` and ``/readyz`` (:mod:`recipes.core.health`)."""
    stop = asyncio.Event()
    grace: timedelta = worker.config().get("graceful_shutdown_timeout") or timedelta()

    def on_signal() -> None:
        if stop.is_set():
            print(f"{DRAINING_TEXT} already (up to {grace.total_seconds():g}s); SIGKILL stops it at once", flush=True)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, on_signal)
    server = None
    if health:
        from recipes.core.health import READY_PATH, HealthServer

        state = lambda: "draining" if stop.is_set() else "stopped" if worker.is_shutdown else "ready" if worker.is_running else "starting"  # noqa: E731
        server = await HealthServer(health, state).start()
        print(f"Health: {server.url()} and {READY_PATH}", flush=True)
    try:
        async with worker:
            config = worker.config()
            print(f"{READY_TEXT}: task queue {config['task_queue']!r}, identity {config.get('identity') or worker_identity()}"
                  + (f", model {model.describe()}" if model else ""), flush=True)  # fmt: skip
            await stop.wait()
            print(f"{DRAINING_TEXT}: polling stopped; running activities "
                  + (f"get up to {grace.total_seconds():g}s to finish, then are" if grace else "are")
                  + " cancelled and retried elsewhere", flush=True)  # fmt: skip
    finally:
        if server:
            await server.close()
    print(STOPPED_TEXT, flush=True)
