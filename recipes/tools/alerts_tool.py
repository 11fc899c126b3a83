"""The weather-alert tools an agent is given, and where each runs.

``get_weather_alerts`` does I/O, so it is an activity made a tool (``activity_as_tool``): scheduled by the
workflow, retried by the server, its result stored in the history. ``explain_severity`` is pure, so it is an
``async def`` ``@function_tool`` that runs in the workflow and must stay deterministic.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from agents import FunctionTool, function_tool
from temporalio.common import RetryPolicy
from temporalio.openai_agents.workflow import activity_as_tool

from recipes.core.tool_errors import errors_as_tool_results
from recipes.tools.weather_alerts import INVALID_STATE, NWS_REQUEST_REJECTED, get_weather_alerts

ALERTS_AGENT_INSTRUCTIONS = (
    "You answer questions about active US weather alerts. Use get_weather_alerts with a "
    "two-letter US state code (CA, TX, NY, ...); call it once per state asked about. Use "
    "explain_severity to explain what an alert severity level means. If a tool reports an "
    "error, do not guess: fix the argument if you can, otherwise tell the user what was wrong. "
    "Quote the alerts you found, with their severity."
)
#: 1 s, 2 s, 4 s, 8 s, capped at 10 s, 5 attempts; a 429's Retry-After overrides the interval. A bad state
#: code or a rejected request is never retried.
ALERTS_RETRY_POLICY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(seconds=10),
                                  maximum_attempts=5, non_retryable_error_types=[INVALID_STATE, NWS_REQUEST_REJECTED])  # fmt: skip
#: One attempt: a little longer than the activity's own HTTP timeout (10 s), so a slow API ends as its
#: ``NWSTimeout``, not an anonymous start-to-close timeout.
ALERTS_START_TO_CLOSE = timedelta(seconds=15)
ALERTS_SCHEDULE_TO_CLOSE = timedelta(minutes=2)  # every attempt together: a person is waiting


def weather_alerts_tool(*, errors_to_model: bool = True) -> FunctionTool:
    """``get_weather_alerts`` as an agent tool that runs as an activity. ``errors_to_model``: a failed call
    becomes the tool's result text and the agent carries on; ``False`` lets it end the run (what a parallel
    branch wants, so its workflow can record the branch as failed)."""
    tool = activity_as_tool(get_weather_alerts, start_to_close_timeout=ALERTS_START_TO_CLOSE,
                            schedule_to_close_timeout=ALERTS_SCHEDULE_TO_CLOSE, retry_policy=ALERTS_RETRY_POLICY)  # fmt: skip
    assert isinstance(tool, FunctionTool)
    return errors_as_tool_results(tool) if errors_to_model else tool


SEVERITY_LEVELS: dict[str, str] = {
    "Extreme": "Extraordinary threat to life or property.",
    "Severe": "Significant threat to life or property.",
    "Moderate": "Possible threat to life or property.",
    "Minor": "Minimal to no known threat to life or property.",
    "Unknown": "Severity unknown.",
}


@function_tool
async def explain_severity(level: Literal["Extreme", "Severe", "Moderate", "Minor", "Unknown"]) -> str:
    """Explain what a National Weather Service severity level means (reference text, no network needed).

    Args:
        level: The severity level, e.g. Severe.
    """
    return f"{level}: {SEVERITY_LEVELS.get(level, SEVERITY_LEVELS['Unknown'])}"
