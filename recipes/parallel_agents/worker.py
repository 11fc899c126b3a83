"""Worker for the parallel-agents recipe.

    python -m recipes.parallel_agents.worker

Polls the ``parallel-agents`` task queue (``$PARALLEL_AGENTS_TASK_QUEUE`` to change it)
and runs the briefing workflows (fan-out in one workflow, and with one child workflow
per branch), the model activity added by ``OpenAIAgentsPlugin`` and the alerts tool's
activity. Settings come from the environment: ``TEMPORAL_ADDRESS``,
``AGENT_MODEL_BACKEND``/``OPENAI_API_KEY``, ``NWS_API_URL`` (the alerts tool) and, for
the offline model, ``OFFLINE_MODEL_LATENCY`` (seconds per model call: makes the
parallelism visible).

Notebooks and tests run the same worker in their own process: :func:`build_worker`.
"""

from __future__ import annotations

from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from recipes.core.scripts import run_script
from recipes.core.settings import connect
from recipes.core.worker import agents_plugin, serve, worker_identity
from recipes.parallel_agents.workflows import (
    MODEL_PARAMS,
    BranchAgentWorkflow,
    ChildWorkflowBriefing,
    FanOutBriefingWorkflow,
    default_task_queue,
)
from recipes.tools.weather_alerts import get_weather_alerts

__all__ = ["build_worker"]


def build_worker(client: Client, *, task_queue: str | None = None, **options: Any) -> Worker:
    """The recipe's worker. ``client`` must carry ``OpenAIAgentsPlugin`` with a model provider
    and ``MODEL_PARAMS``; the plugin adds the model activity."""
    return Worker(
        client,
        task_queue=task_queue or default_task_queue(),
        # The children (BranchAgentWorkflow) run on the parent's task queue: this worker has them too.
        workflows=[FanOutBriefingWorkflow, ChildWorkflowBriefing, BranchAgentWorkflow],
        # activity_as_tool registers nothing: the tool's activity is listed here.
        activities=[get_weather_alerts],
        **options,
    )


async def main() -> None:
    plugin, model = agents_plugin(MODEL_PARAMS)
    client = await connect(plugins=[plugin])
    worker = build_worker(client, identity=worker_identity())
    await serve(worker, model=model)


if __name__ == "__main__":
    run_script(main())
