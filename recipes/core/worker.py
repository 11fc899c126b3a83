"""Run a Temporal worker for agent workflows: the model switch, tracing, shutdown
and health in one place, so each recipe's ``worker.py`` is a few lines.

Written out (``recipes/weather/worker.py`` does this)::

    plugin, model = agents_plugin(MODEL_PARAMS)
    client = await connect(TemporalSettings.load(), plugins=[plugin])
    worker = Worker(client, task_queue="weather-agent", workflows=[...], activities=[...])
    await serve(worker, model=model)

(``Worker(..., **worker_env_options())`` there adds the settings below that
:func:`run_worker` reads), or in one call::

    run_worker_main(task_queue="weather-agent", workflows=[...], activities=[...],
                    model_params=MODEL_PARAMS)

and is started with ``python -m recipes.<recipe>.worker`` — from a terminal, or
from a notebook through the tutorial's process manager, which can SIGKILL it.
It prints ``READY_TEXT`` once polling so a parent knows when it is up.

Running it for real (``recipes/shipping/deploy/`` has a Dockerfile, a systemd
unit and a Kubernetes Deployment built on these):

``WORKER_SHUTDOWN_GRACE_S`` (:func:`run_worker`; default 0)
    On SIGTERM or SIGINT the worker stops polling at once, then gives the
    activities already running this many seconds to finish (Temporal's
    ``graceful_shutdown_timeout``). One that finishes in time completes on this
    worker. One that does not is cancelled (the activity sees
    ``asyncio.CancelledError``, ``activity.cancellation_details().worker_shutdown``
    is true; ``activity.is_worker_shutdown()`` is true from the signal on), the
    attempt fails as ``WorkerShutdown``, and Temporal retries it on another
    worker. With 0 every running activity is cancelled at once. Nothing
    is lost either way; a SIGKILL (or a container runtime's grace running out)
    is a crash, noticed by the activity's heartbeat or start-to-close timeout.
    Keep the supervisor's stop timeout (``terminationGracePeriodSeconds``,
    ``TimeoutStopSec``) above the grace.
``WORKER_MAX_CONCURRENT_ACTIVITIES`` (:func:`run_worker`)
    Activity slots: how many model and tool calls one worker runs at once
    (the SDK's default, 100, when unset).
``WORKER_HEALTH_PORT``, ``WORKER_HEALTH_HOST`` (:func:`serve`; off when unset)
    A small HTTP endpoint on ``WORKER_HEALTH_HOST`` (default ``127.0.0.1``; in a
    container ``0.0.0.0``): ``GET /healthz`` answers 200 while the process and
    its event loop run (draining included: a liveness probe must not kill a
    draining worker); ``GET /readyz`` answers 200 once the worker polls and 503
    from the moment shutdown begins, so a load balancer or Kubernetes stops
    counting it while it drains. Port 0 takes any free port (printed).

An option given to :func:`run_worker` explicitly wins over the variable for it
(which is then not read); a value that cannot be used is one sentence
(``ConfigurationError``), before the worker connects.
"""

from __future__ import annotations

import asyncio
import math
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from temporalio.openai_agents import ModelActivityParameters, OpenAIAgentsPlugin
from temporalio.worker import Worker

from recipes.core.agent_failures import AgentsPlugin
from recipes.core.errors import ConfigurationError
from recipes.core.models import ModelChoice, choose_model, with_model_timeouts
from recipes.core.scripts import run_script
from recipes.core.settings import TemporalSettings, connect
from recipes.core.tracing import install_tracing

if TYPE_CHECKING:
    from recipes.core.health import HealthSettings

READY_TEXT = "Worker ready"
#: Printed once a SIGTERM/SIGINT has been received and in-flight activities are draining.
DRAINING_TEXT = "Worker draining"
STOPPED_TEXT = "Worker stopped"
#: Set by a parent that starts workers as child processes (the notebooks do);
#: see :func:`exit_with_parent`.
PARENT_PID_ENV = "TUTORIAL_PARENT_PID"

SHUTDOWN_GRACE_ENV = "WORKER_SHUTDOWN_GRACE_S"
MAX_ACTIVITIES_ENV = "WORKER_MAX_CONCURRENT_ACTIVITIES"
#: The health endpoint's port: recipes/core/health.py (which reads it again) is imported only when it is set.
HEALTH_PORT_ENV = "WORKER_HEALTH_PORT"


def worker_identity() -> str:
    """pid@host, the form Temporal uses; it is what the history shows per step."""
    return f"{os.getpid()}@{socket.gethostname()}"


def agents_plugin(model_params: ModelActivityParameters, **options: Any) -> tuple[OpenAIAgentsPlugin, ModelChoice]:
    """``OpenAIAgentsPlugin`` with the model switch's provider (metered), and the choice
    it made; Agents SDK traces are routed locally first (:func:`install_tracing`). It is
    :class:`~recipes.core.agent_failures.AgentsPlugin`: whatever the model does, a run ends
    (an Agents SDK error fails it with one sentence instead of retrying its workflow task
    forever). The model calls' timeouts follow ``AGENT_MODEL_TIMEOUTS`` when it is set
    (:func:`~recipes.core.models.with_model_timeouts`). ``options`` go to the plugin as they
    are (e.g. ``mcp_servers``)."""
    choice = choose_model()
    install_tracing(model=choice)
    params = with_model_timeouts(model_params)  # AGENT_MODEL_TIMEOUTS: hosted, local, or seconds
    return AgentsPlugin(model_params=params, model_provider=choice.provider(), **options), choice


# --------------------------------------------------------------------------- settings


def _env(name: str) -> str:
    return os.environ.get(name, "").strip()


def _whole(raw: str) -> int | None:
    """``raw`` as a whole number written in ASCII digits, else ``None``."""
    return int(raw) if raw.isascii() and raw.isdigit() else None


def shutdown_grace() -> timedelta:
    """``WORKER_SHUTDOWN_GRACE_S`` as Temporal's ``graceful_shutdown_timeout`` (0 when unset)."""
    raw = _env(SHUTDOWN_GRACE_ENV)
    if not raw:
        return timedelta()
    try:
        seconds = float(raw)
        if math.isfinite(seconds) and seconds >= 0:
            return timedelta(seconds=seconds)
    except (ValueError, OverflowError):
        pass
    raise ConfigurationError(
        f"{SHUTDOWN_GRACE_ENV}={raw!r} is not a number of seconds; give 0 or more, e.g. 30 "
        "(how long a stopping worker lets its running activities finish)."
    )


def max_concurrent_activities() -> int | None:
    """``WORKER_MAX_CONCURRENT_ACTIVITIES`` (``None`` when unset: the SDK's default)."""
    raw = _env(MAX_ACTIVITIES_ENV)
    if not raw:
        return None
    slots = _whole(raw)
    if slots is None or slots < 1:
        raise ConfigurationError(
            f"{MAX_ACTIVITIES_ENV}={raw!r} is not a whole number of at least 1; give the activity slots "
            "one worker may use at once, e.g. 20."
        )
    return slots


def worker_env_options(exclude: Collection[str] = ()) -> dict[str, Any]:
    """The ``Worker`` options the environment sets: ``graceful_shutdown_timeout`` (always),
    ``max_concurrent_activities`` (when given). Options named in ``exclude`` (given
    explicitly) are not read. A bad value raises ``ConfigurationError``."""
    options: dict[str, Any] = {}
    if "graceful_shutdown_timeout" not in exclude:
        options["graceful_shutdown_timeout"] = shutdown_grace()
    if "max_concurrent_activities" not in exclude and (slots := max_concurrent_activities()) is not None:
        options["max_concurrent_activities"] = slots
    return options


# --------------------------------------------------------------------------- running


def health_settings() -> HealthSettings | None:
    """Where ``WORKER_HEALTH_PORT`` asks for a health endpoint; ``None`` (and nothing imported) when unset."""
    if not _env(HEALTH_PORT_ENV):
        return None
    from recipes.core.health import HealthSettings

    return HealthSettings.load()


async def serve(worker: Worker, *, model: ModelChoice | None = None, health: HealthSettings | None = None) -> None:
    """Poll until SIGTERM/SIGINT, then shut down gracefully: stop polling, let running
    activities finish within the worker's ``graceful_shutdown_timeout``, exit.

    Prints ``READY_TEXT`` once polling, so a parent process (a notebook, a test) knows
    it is up, and ``DRAINING_TEXT`` when a signal arrives. ``health``: where to serve
    ``/healthz`` and ``/readyz`` (default: ``HealthSettings.load()``, off unless
    ``WORKER_HEALTH_PORT`` is set); the endpoint stops with the worker.
    """
    health = health or health_settings()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    grace = worker.config().get("graceful_shutdown_timeout") or timedelta()

    def on_signal() -> None:
        if stop.is_set():
            print(f"{DRAINING_TEXT} already (up to {grace.total_seconds():g}s); SIGKILL stops it at once", flush=True)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)

    def state() -> str:
        if stop.is_set():
            return "draining"
        if worker.is_shutdown:
            return "stopped"
        return "ready" if worker.is_running else "starting"

    server = None
    if health:
        from recipes.core.health import READY_PATH, HealthServer

        server = await HealthServer(health, state).start()
    try:
        if server:
            print(f"Health: {server.url()} and {READY_PATH}", flush=True)
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
    ``max_concurrent_activities``, ``sticky_queue_schedule_to_start_timeout``) and win
    over what the environment sets (:func:`worker_env_options`:
    ``WORKER_SHUTDOWN_GRACE_S``, ``WORKER_MAX_CONCURRENT_ACTIVITIES``). The
    environment is read before connecting, so a bad value fails at once.
    """
    options = {**worker_env_options(exclude=worker_options), **worker_options}
    health = health_settings()
    plugin, model = agents_plugin(model_params)
    client = await connect(TemporalSettings.load(), plugins=[plugin])
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=list(workflows),
        activities=list(activities),
        identity=worker_identity(),
        **options,
    )
    await serve(worker, model=model, health=health)


def run_worker_main(**kwargs) -> None:
    """Blocking entrypoint for ``python -m recipes.<recipe>.worker``."""
    exit_with_parent()
    run_script(run_worker(**kwargs))


def exit_with_parent(poll_s: float = 0.5) -> None:
    """In a child: exit when the process that started us is gone.

    ``atexit`` in the parent does not run when the parent is SIGKILLed (a
    kernel restart does that); this watchdog is what then ends the child.
    A no-op unless ``TUTORIAL_PARENT_PID`` is set (the tutorial's process
    manager sets it in each child it starts).
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
