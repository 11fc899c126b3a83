"""Agent workflows for the durability demos.

``StormBriefingWorkflow``
    A multi-step agent: "storm briefing for California, Texas and Florida"
    becomes model -> get_storm_report(CA) -> model -> get_storm_report(TX) ->
    model -> get_storm_report(FL) -> model (answer). ``parallel_tool_calls=False``
    makes the model call one tool per turn, so there are several model calls
    to lose -- or, with Temporal, not lose. With ``notify=True`` the workflow
    then sends the briefing with the idempotent ``send_alert_notification``.

``WeatherAlertsWorkflow``
    The weather recipe's agent with the real HTTP tool (``get_weather_alerts``
    against the local NWS-shaped service) and timeouts short enough to watch
    retries happen. ``activity_as_tool`` alone would let a tool that fails for
    good (a bad state code, retries exhausted) fail the whole run;
    ``recipes.core.tool_errors.errors_as_tool_results`` turns that failure into the tool's
    result text, so the model reads it and the workflow completes. A model that
    keeps calling tools without answering is stopped after ``MAX_TURNS`` by the
    Agents SDK's own ``max_turns`` error handler (``answer_when_out_of_turns``):
    the run completes with an answer that says so, instead of failing.

Timeouts, chosen for fast recovery after a crash (the notebooks measure it):

* every activity heartbeats (the model activity through the plugin's
  auto-heartbeater, the tool itself), with ``heartbeat_timeout=2 s``: a
  SIGKILLed worker's activity is declared lost ~2 s after its last heartbeat;
* ``start_to_close_timeout`` stays generous (30 s for a model call) because a
  real LLM call can be slow; it is the backstop, not the detector;
* retries start after 0.5 s, so the retry of a lost step runs as soon as a
  worker polls again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from agents import Agent, ModelSettings, RunErrorHandlerInput, RunErrorHandlerResult, Runner
    from temporalio.openai_agents import ModelActivityParameters
    from temporalio.openai_agents.workflow import activity_as_tool

    from recipes.durability.activities import Notification, get_storm_report, send_alert_notification
    from recipes.tools.weather_alerts import INVALID_STATE, NWS_REQUEST_REJECTED, get_weather_alerts
    from recipes.core.agent_failures import describe
    from recipes.core.tool_errors import errors_as_tool_results

TASK_QUEUE = "durability-agent"

#: How long without a heartbeat before the server declares an activity attempt lost.
HEARTBEAT_TIMEOUT = timedelta(seconds=2)

#: Model calls: generous start-to-close (LLMs can be slow), fast crash detection via heartbeats.
MODEL_PARAMS = ModelActivityParameters(
    start_to_close_timeout=timedelta(seconds=30),
    heartbeat_timeout=HEARTBEAT_TIMEOUT,
    retry_policy=RetryPolicy(
        initial_interval=timedelta(seconds=0.5),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=5),
        maximum_attempts=10,
    ),
)

STORM_TOOL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=0.5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=5),
    maximum_attempts=10,
)

#: The weather tool: an HTTP call that normally takes milliseconds. 2 s without an
#: answer is a hung request; 0.5 s, 1 s, 2 s... between attempts; at most 8 attempts.
WEATHER_TOOL_TIMEOUT = timedelta(seconds=2)
WEATHER_TOOL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=0.5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=2),
    maximum_attempts=8,
    non_retryable_error_types=[INVALID_STATE, NWS_REQUEST_REJECTED],
)

NOTIFY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=0.5), maximum_attempts=10)

BRIEFING_INSTRUCTIONS = (
    "You are a storm briefing assistant. For each state in the request, get its storm report, "
    "one state at a time, then write a short briefing that quotes the reports."
)
WEATHER_INSTRUCTIONS = (
    "You are a weather assistant. Use the weather alerts tool for the US state in the question "
    "and answer from its result. If the tool reports an error, say what went wrong."
)


@dataclass
class BriefingRequest:
    question: str
    notify: bool = False
    channel: str = "storm-desk"


@dataclass
class BriefingResult:
    answer: str
    notification: str = ""
    """What ``send_alert_notification`` reported (empty without ``notify``)."""


def storm_agent() -> Agent:
    return Agent(
        name="Storm briefing agent",
        instructions=BRIEFING_INSTRUCTIONS,
        tools=[
            errors_as_tool_results(
                activity_as_tool(
                    get_storm_report,
                    start_to_close_timeout=timedelta(seconds=30),
                    heartbeat_timeout=HEARTBEAT_TIMEOUT,
                    retry_policy=STORM_TOOL_RETRY,
                )
            )
        ],
        # One tool call per model turn: model -> tool -> model -> tool -> ...
        model_settings=ModelSettings(parallel_tool_calls=False),
    )


@workflow.defn
class StormBriefingWorkflow:
    @workflow.run
    async def run(self, request: BriefingRequest) -> BriefingResult:
        result = await Runner.run(storm_agent(), request.question, max_turns=20)
        answer = str(result.final_output)
        if not request.notify:
            return BriefingResult(answer)
        sent = await workflow.execute_activity(
            send_alert_notification,
            Notification(channel=request.channel, subject="Storm briefing", body=answer),
            start_to_close_timeout=timedelta(seconds=30),
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            retry_policy=NOTIFY_RETRY,
        )
        return BriefingResult(answer, sent)


def weather_agent() -> Agent:
    return Agent(
        name="Weather agent",
        instructions=WEATHER_INSTRUCTIONS,
        tools=[
            errors_as_tool_results(
                activity_as_tool(
                    get_weather_alerts,
                    start_to_close_timeout=WEATHER_TOOL_TIMEOUT,
                    retry_policy=WEATHER_TOOL_RETRY,
                )
            )
        ],
    )


#: Model calls one question may take (the SDK's default), and how an answer begins when they ran out.
MAX_TURNS = 10
NO_ANSWER = "No answer:"


def answer_when_out_of_turns(error: RunErrorHandlerInput) -> RunErrorHandlerResult:
    """The Agents SDK's ``max_turns`` error handler: a run the model did not finish in ``MAX_TURNS`` turns
    completes with an answer saying so, for the caller to read, instead of raising ``MaxTurnsExceeded``
    (which ``AgentsPlugin`` would turn into a failed run). It runs in the workflow: no I/O, deterministic."""
    exceeded = error.error
    exceeded.run_data = exceeded.run_data or error.run_data  # the SDK hands the run's items beside the error
    return RunErrorHandlerResult(final_output=f"{NO_ANSWER} {describe(exceeded)}", include_in_history=False)


@workflow.defn
class WeatherAlertsWorkflow:
    @workflow.run
    async def run(self, question: str) -> str:
        result = await Runner.run(weather_agent(), question, max_turns=MAX_TURNS,
                                  error_handlers={"max_turns": answer_when_out_of_turns})  # fmt: skip
        return str(result.final_output)


DURABILITY_WORKFLOWS = [StormBriefingWorkflow, WeatherAlertsWorkflow]
