"""``AGENT_MODEL_TIMEOUTS``: one setting for how long a model call may take, for the model in use.

Read by :func:`recipes.core.worker.agents_plugin` only when the variable is set (a recipe's own
``MODEL_PARAMS`` stand as written otherwise), so a copy that never sets it needs not this file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import timedelta

from temporalio.openai_agents import ModelActivityParameters

from recipes.core.errors import ConfigurationError
from recipes.core.models import MODEL_RETRY_POLICY

#: How long one model call may take, for the model in use: one setting, read by the worker.
#: ``hosted`` (the recipes' own values: a hosted API answers in seconds), ``local`` (a small model on
#: this machine's CPU: a first call with three tool schemas took 52 s here, at 5-9 tokens/s), or a
#: number of seconds for one attempt. Unset, each recipe's MODEL_PARAMS stand as written (hosted).
MODEL_TIMEOUTS_ENV = "AGENT_MODEL_TIMEOUTS"


@dataclass(frozen=True)
class ModelTimeouts:
    """One model call's timeouts: an attempt (start-to-close), a worker's silence (heartbeat: the
    model activity heartbeats while it waits, so a slow call that is alive is never cut by it), and
    every attempt together (schedule-to-close, which bounds the retries of a server that keeps failing)."""

    start_to_close: timedelta
    heartbeat: timedelta
    schedule_to_close: timedelta


MODEL_TIMEOUTS = {
    "hosted": ModelTimeouts(timedelta(seconds=60), timedelta(seconds=10), timedelta(minutes=5)),
    "local": ModelTimeouts(timedelta(minutes=5), timedelta(seconds=10), timedelta(minutes=30)),
}


def model_timeouts(setting: str | None = None) -> ModelTimeouts | None:
    """The timeouts ``setting`` (default: ``$AGENT_MODEL_TIMEOUTS``) names; None when it is unset."""
    value = (os.environ.get(MODEL_TIMEOUTS_ENV, "") if setting is None else setting).strip().lower()
    if not value:
        return None
    if value in MODEL_TIMEOUTS:
        return MODEL_TIMEOUTS[value]
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 1 <= seconds <= 3600:
        raise ConfigurationError(f"{MODEL_TIMEOUTS_ENV}={value!r}: use hosted, local, or the seconds one model call "
                                 "may take (1 to 3600).")  # fmt: skip
    attempt = timedelta(seconds=seconds)
    # Every attempt of the retry policy, and its backoff (1+2+4+8 s), fit in schedule-to-close.
    return ModelTimeouts(attempt, timedelta(seconds=10), attempt * MODEL_RETRY_POLICY.maximum_attempts + timedelta(seconds=15))


def with_model_timeouts(params: ModelActivityParameters) -> ModelActivityParameters:
    """``params`` with the timeouts of ``$AGENT_MODEL_TIMEOUTS`` when it is set, as given when not. Model calls
    as local activities keep no heartbeat (they cannot send one)."""
    timeouts = model_timeouts()
    if timeouts is None:
        return params
    return replace(params, start_to_close_timeout=timeouts.start_to_close, schedule_to_close_timeout=timeouts.schedule_to_close,
                   heartbeat_timeout=None if params.heartbeat_timeout is None else timeouts.heartbeat)  # fmt: skip
