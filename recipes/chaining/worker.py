"""Worker for the chaining recipe.

    python -m recipes.chaining.worker

Polls the ``chaining`` task queue (``$CHAINING_TASK_QUEUE`` to change it) and runs
the three workflows (chaining in code, handoffs, agents as tools), the model
activity added by ``OpenAIAgentsPlugin`` and the two tool activities. Settings come
from the environment: ``TEMPORAL_ADDRESS``, ``AGENT_MODEL_BACKEND``/``OPENAI_API_KEY``
and ``NWS_API_URL`` (the alerts tool).

Notebooks and tests run the same worker in their own process: :func:`build_worker`.
"""

from __future__ import annotations

from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from recipes.chaining.workflows import (
    MODEL_PARAMS,
    AgentsAsToolsWorkflow,
    ChainedAgentsWorkflow,
    HandoffWorkflow,
    default_task_queue,
)
from recipes.core.scripts import run_script
from recipes.core.settings import connect
from recipes.core.worker import agents_plugin, serve, worker_identity
from recipes.tools.forecast import get_forecast
from recipes.tools.weather_alerts import get_weather_alerts

__all__ = ["build_worker"]


def build_worker(client: Client, *, task_queue: str | None = None, **options: Any) -> Worker:
    """The recipe's worker. ``client`` must carry ``OpenAIAgentsPlugin`` with a model provider
    and ``MODEL_PARAMS``; the plugin adds the model activity."""
    return Worker(
        client,
        task_queue=task_queue or default_task_queue(),
        workflows=[ChainedAgentsWorkflow, HandoffWorkflow, AgentsAsToolsWorkflow],
        # activity_as_tool registers nothing: every tool activity is listed here.
        activities=[get_weather_alerts, get_forecast],
        **options,
    )


async def main() -> None:
    plugin, model = agents_plugin(MODEL_PARAMS)
    client = await connect(plugins=[plugin])
    worker = build_worker(client, identity=worker_identity())
    await serve(worker, model=model)


if __name__ == "__main__":
    run_script(main())
