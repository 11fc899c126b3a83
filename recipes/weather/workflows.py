"""The durable weather-alert agent: an Agents SDK ``Agent`` inside a Temporal workflow.

The worker's plugin (``agents_plugin(MODEL_PARAMS)``) makes every model call of ``Runner.run`` the activity
``invoke_model_activity``, and ``get_weather_alerts`` runs as its own activity: each model response and tool
result is recorded in the history. If the worker dies, another replays the history -- completed calls are not
made (or paid for) again -- and carries on from the first step that had not finished.
"""

from __future__ import annotations

import os
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from agents import Agent, Runner
    from temporalio.openai_agents import ModelActivityParameters

    from recipes.core.models import MODEL_RETRY_POLICY
    from recipes.tools.alerts_tool import ALERTS_AGENT_INSTRUCTIONS, explain_severity, weather_alerts_tool

TASK_QUEUE, TASK_QUEUE_ENV = "weather-agent", "WEATHER_TASK_QUEUE"
AGENT_NAME = "Weather agent"

#: How model calls run as activities (README.md, "Timeouts, chosen on purpose").
MODEL_PARAMS = ModelActivityParameters(
    start_to_close_timeout=timedelta(seconds=60),  # one request; still hanging after a minute: try afresh
    heartbeat_timeout=timedelta(seconds=10),  # the activity heartbeats every 5 s: a dead worker shows in 10
    schedule_to_close_timeout=timedelta(minutes=5),  # every attempt together: a person is waiting
    retry_policy=MODEL_RETRY_POLICY,  # 1 s, 2 s, 4 s ... capped at 20 s, 5 attempts; a bad key is not retried
)


def default_task_queue() -> str:
    """``$WEATHER_TASK_QUEUE`` or ``weather-agent`` (notebooks and tests pick their own, so that a worker
    someone left running cannot take their runs)."""
    return os.environ.get(TASK_QUEUE_ENV) or TASK_QUEUE


def build_agent() -> Agent:
    """The agent: instructions, one activity tool (I/O) and one workflow tool (pure)."""
    return Agent(name=AGENT_NAME, instructions=ALERTS_AGENT_INSTRUCTIONS, tools=[weather_alerts_tool(), explain_severity])


@workflow.defn
class WeatherAgentWorkflow:
    """Answer one question about US weather alerts."""

    @workflow.run
    async def run(self, question: str) -> str:
        result = await Runner.run(build_agent(), question)
        return str(result.final_output)
