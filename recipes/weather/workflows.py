"""The durable weather-alert agent: an Agents SDK ``Agent`` inside a Temporal workflow.

What makes it durable
---------------------
The worker installs ``OpenAIAgentsPlugin(model_params=MODEL_PARAMS)``. Inside a
workflow, ``Runner.run`` then sends every model call to the worker as the
activity ``invoke_model_activity``, and ``get_weather_alerts`` runs as its own
activity (``activity_as_tool``). The workflow itself only decides what to do
next; each model response and each tool result is recorded in the event
history. If the worker dies mid-run, another worker replays the history --
completed model calls and tool calls are *not* made (or paid for) again -- and
carries on from the first step that had not finished.

Timeouts and retries, chosen on purpose
---------------------------------------
Model calls (``MODEL_PARAMS``):

* ``start_to_close_timeout=60s`` -- one model request. LLM replies with tool
  calls usually take 1-30 s; a request still hanging after a minute is stuck,
  and a fresh attempt is the better bet. (A custom model provider *requires*
  this timeout.)
* ``heartbeat_timeout=10s`` -- the plugin's model activity heartbeats every
  5 s while it waits for the model. If the worker process dies, the server
  notices within 10 s and retries the call on another worker, instead of
  waiting out the full minute.
* ``schedule_to_close_timeout=5min`` -- the whole budget for one model call,
  retries included: a person is waiting for the answer.
* ``retry_policy`` (``recipes.core.models.MODEL_RETRY_POLICY``, shared by every agent here) --
  1 s, 2 s, 4 s ... capped at 20 s, at most 5 attempts.
  The plugin marks HTTP 429/5xx/408/409 from the model API retryable (and
  honours Retry-After) and other 4xx (bad key, unknown model) non-retryable,
  so a wrong API key fails fast instead of retrying for minutes. The OpenAI
  client's own retries are off inside the activity: Temporal owns retrying.

The tool's timeouts and retries are in :mod:`recipes.weather.tools`.

Bad input does not fail the workflow
------------------------------------
A state that does not exist, malformed JSON arguments or an exhausted retry
budget come back to the model as tool-result text (see
:func:`recipes.core.tool_errors.errors_as_tool_results`), so the agent can
answer "that is not a US state code" and the workflow completes.
"""

from __future__ import annotations

import os
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from agents import Agent, Runner
    from temporalio.openai_agents import ModelActivityParameters

    from recipes.core.models import MODEL_RETRY_POLICY
    from recipes.tools.alerts_tool import ALERTS_AGENT_INSTRUCTIONS
    from recipes.weather.tools import explain_severity, weather_alerts_tool

TASK_QUEUE = "weather-agent"
TASK_QUEUE_ENV = "WEATHER_TASK_QUEUE"
AGENT_NAME = "Weather agent"

INSTRUCTIONS = ALERTS_AGENT_INSTRUCTIONS

#: How model calls run as activities; the worker passes this to OpenAIAgentsPlugin.
MODEL_PARAMS = ModelActivityParameters(
    start_to_close_timeout=timedelta(seconds=60),
    heartbeat_timeout=timedelta(seconds=10),
    schedule_to_close_timeout=timedelta(minutes=5),
    retry_policy=MODEL_RETRY_POLICY,
)


def default_task_queue() -> str:
    """``$WEATHER_TASK_QUEUE`` or ``weather-agent``. Notebooks and tests pick a queue of
    their own, so a worker someone left running cannot take their runs."""
    return os.environ.get(TASK_QUEUE_ENV) or TASK_QUEUE


def build_agent() -> Agent:
    """The agent: instructions, one activity tool (I/O) and one workflow tool (pure)."""
    return Agent(
        name=AGENT_NAME,
        instructions=INSTRUCTIONS,
        tools=[weather_alerts_tool(), explain_severity],
    )


@workflow.defn
class WeatherAgentWorkflow:
    """Answer one question about US weather alerts."""

    @workflow.run
    async def run(self, question: str) -> str:
        result = await Runner.run(build_agent(), question)
        return str(result.final_output)
