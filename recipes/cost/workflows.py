"""The workflows ``make bench`` and notebook 13 time.

``CostAgentWorkflow`` is the weather agent (one model call, one tool call, one model call:
three durable steps). How its model calls run is the worker's choice, not the workflow's:
``MODEL_PARAMS`` makes each an activity, ``LOCAL_MODEL_PARAMS`` a local activity (see
``worker.py``). ``FloorWorkflow`` does the same number of steps with activities that do
nothing: what is left is what Temporal itself costs.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import timedelta
from typing import Literal

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from agents import Agent, Runner, function_tool
    from temporalio.openai_agents import ModelActivityParameters

    from recipes.core.models import MODEL_RETRY_POLICY
    from recipes.tools.alerts_tool import ALERTS_AGENT_INSTRUCTIONS, explain_severity, weather_alerts_tool
    from recipes.tools.weather_alerts import get_weather_alerts

    from recipes.cost.activities import no_op_step

TASK_QUEUE = "durability-cost"
TASK_QUEUE_ENV = "COST_TASK_QUEUE"
#: The agent's run: model call -> get_weather_alerts -> model call.
AGENT_STEPS = 3

#: Model calls as activities: scheduled by the server, run by any worker, heartbeating, so a
#: dead worker's call is retried elsewhere within ``heartbeat_timeout``.
MODEL_PARAMS = ModelActivityParameters(
    start_to_close_timeout=timedelta(seconds=60),
    heartbeat_timeout=timedelta(seconds=10),
    schedule_to_close_timeout=timedelta(minutes=5),
    retry_policy=MODEL_RETRY_POLICY,
)
#: Model calls as local activities: run by the worker that runs the workflow, inside its
#: workflow task, with no round trip to the server before the call. What that trades away is
#: in README.md ("Local activities"). Changing this for open runs breaks their replay.
LOCAL_MODEL_PARAMS = replace(MODEL_PARAMS, heartbeat_timeout=None, use_local_activity=True)

FloorKind = Literal["activity", "local", "none"]
FLOOR_KINDS: tuple[FloorKind, ...] = ("activity", "local", "none")


def default_task_queue() -> str:
    return os.environ.get(TASK_QUEUE_ENV) or TASK_QUEUE


def build_agent(*, durable: bool = True) -> Agent:
    """The weather agent; ``durable=False`` gives the same agent for a plain ``Runner.run``,
    its tool a function call in this process instead of an activity."""
    alerts = weather_alerts_tool() if durable else function_tool(get_weather_alerts)
    return Agent(name="Weather agent", instructions=ALERTS_AGENT_INSTRUCTIONS, tools=[alerts, explain_severity])


@workflow.defn
class CostAgentWorkflow:
    """Answer one weather question; the run the benchmark times."""

    @workflow.run
    async def run(self, question: str) -> str:
        result = await Runner.run(build_agent(), question)
        return str(result.final_output)


@workflow.defn
class FloorWorkflow:
    """``steps`` no-op steps, each an activity, a local activity, or nothing at all ("none":
    the cost of starting a workflow and getting its result)."""

    @workflow.run
    async def run(self, kind: FloorKind, steps: int = AGENT_STEPS) -> int:
        if kind not in FLOOR_KINDS:
            raise ApplicationError(f"Unknown floor kind {kind!r}; choose one of {', '.join(FLOOR_KINDS)}.",
                                   non_retryable=True)  # fmt: skip
        if kind == "none":
            return 0
        timeout = timedelta(seconds=10)
        for step in range(steps):
            if kind == "local":
                await workflow.execute_local_activity(no_op_step, step, start_to_close_timeout=timeout)
            else:
                await workflow.execute_activity(no_op_step, step, start_to_close_timeout=timeout)
        return steps
