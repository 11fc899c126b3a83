"""Running workers for real: the settings an operator gives them, and a worker in one call::

    run_worker_main(task_queue="durability-agent", workflows=[...], activities=[...], model_params=MODEL_PARAMS)

(``recipes/shipping/deploy/`` has a Dockerfile, a systemd unit and a Kubernetes Deployment built on these.)

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

import math
import os
from collections.abc import Callable, Collection, Sequence
from datetime import timedelta
from typing import Any

from temporalio.openai_agents import ModelActivityParameters
from temporalio.worker import Worker

from recipes.core.errors import ConfigurationError
from recipes.core.health import HealthSettings
from recipes.core.scripts import run_script
from recipes.core.settings import connect
from recipes.core.worker import agents_plugin, serve, worker_identity

SHUTDOWN_GRACE_ENV = "WORKER_SHUTDOWN_GRACE_S"
MAX_ACTIVITIES_ENV = "WORKER_MAX_CONCURRENT_ACTIVITIES"


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
    health = HealthSettings.load()
    plugin, model = agents_plugin(model_params)
    client = await connect(plugins=[plugin])
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
    run_script(run_worker(**kwargs))
