"""Worker for the microagents recipe.

    python -m recipes.microagents.worker

Polls the ``microagents`` task queue (``$MICROAGENTS_TASK_QUEUE`` to change it)
and runs every workflow of the recipe
(the conversation session), the model activity added by
``OpenAIAgentsPlugin`` and the tool activities. Settings come from the
environment: ``TEMPORAL_ADDRESS``, ``AGENT_MODEL_BACKEND``/``OPENAI_API_KEY``,
``NWS_API_URL`` (the alerts tool), ``MICROAGENTS_OUTBOX`` (where broadcasts are
written) and, for the offline model, ``OFFLINE_MODEL_LATENCY`` (seconds per
model call).

Notebooks and tests run the same worker inside their own process instead
(:func:`build_worker`, started with ``tutorial.kernel_worker.start_in_kernel``),
so the model's latency setting and the traces live in the notebook's process.
"""

from __future__ import annotations

import os
from datetime import timedelta

from temporalio.client import Client
from temporalio.openai_agents import ModelActivityParameters
from temporalio.worker import Worker

from recipes.core.models import MODEL_RETRY_POLICY
from recipes.microagents.activities import MICROAGENT_ACTIVITIES
from recipes.microagents.session import ConversationSessionWorkflow

__all__ = [
    "ACTIVITIES",
    "MODEL_PARAMS",
    "TASK_QUEUE",
    "WORKFLOWS",
    "build_worker",
    "default_task_queue",
]

TASK_QUEUE = "microagents"
TASK_QUEUE_ENV = "MICROAGENTS_TASK_QUEUE"

WORKFLOWS = [
    ConversationSessionWorkflow,
]
ACTIVITIES = list(MICROAGENT_ACTIVITIES)

#: Model calls: one minute per attempt (the plugin's model activity heartbeats
#: every 5 s, so a dead worker is noticed after 10 s), five minutes and five
#: attempts in all, backoff 1 s -> 20 s. The agent's name becomes each model
#: activity's summary by itself (the plugin sets it).
MODEL_PARAMS = ModelActivityParameters(
    start_to_close_timeout=timedelta(seconds=60),
    heartbeat_timeout=timedelta(seconds=10),
    schedule_to_close_timeout=timedelta(minutes=5),
    retry_policy=MODEL_RETRY_POLICY,
)


def default_task_queue() -> str:
    """``$MICROAGENTS_TASK_QUEUE`` or ``microagents``. Notebooks and tests pick a queue
    of their own, so a worker someone left running cannot take their runs."""
    return os.environ.get(TASK_QUEUE_ENV) or TASK_QUEUE


def build_worker(client: Client, *, task_queue: str | None = None) -> Worker:
    """A Worker for every workflow and activity of the recipe.

    ``client`` must carry ``OpenAIAgentsPlugin`` with the model provider and
    ``MODEL_PARAMS``; the plugin adds the model activity to the worker.
    """
    return Worker(client, task_queue=task_queue or default_task_queue(), workflows=WORKFLOWS, activities=ACTIVITIES)


if __name__ == "__main__":
    from recipes.core.worker import run_worker_main

    run_worker_main(task_queue=default_task_queue(), workflows=WORKFLOWS, activities=ACTIVITIES, model_params=MODEL_PARAMS)
