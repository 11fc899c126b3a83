"""The weather-forecast tool: ``get_forecast`` as a Temporal activity, and :func:`forecast_tool`,
the agent tool that runs it (shared by the chaining and agent-session recipes).

``get_forecast`` is a deterministic stand-in for a forecast API: the same state always gets
the same forecast, so notebooks and tests can assert on it. Its docstring is the tool
description the model reads (and the words the offline stand-in model matches on), so it
says what the tool is for in the words a user would use ("forecast", "rain", "wind").
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from agents import FunctionTool
from temporalio import activity
from temporalio.common import RetryPolicy
from temporalio.openai_agents.workflow import activity_as_tool

from recipes.core.tool_errors import errors_as_tool_results
from recipes.tools.weather_alerts import INVALID_STATE, normalize_state

__all__ = ["FORECAST_RETRY_POLICY", "FORECAST_START_TO_CLOSE", "forecast_tool", "get_forecast"]

#: A bad state code is never retried; anything else up to five times, backoff 1 s -> 10 s.
FORECAST_RETRY_POLICY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=5,
    non_retryable_error_types=[INVALID_STATE],
)
FORECAST_START_TO_CLOSE = timedelta(seconds=15)

_SKIES = ["Sunny", "Mostly sunny", "Partly cloudy", "Mostly cloudy", "Showers", "Thunderstorms", "Windy", "Fog"]


def _seed(*parts: str) -> int:
    return int(hashlib.sha256("|".join(parts).encode()).hexdigest()[:8], 16)


@activity.defn
async def get_forecast(state: str) -> str:
    """Get the weather forecast (sky, temperature high and low, chance of rain, wind) for the next two days in a US state.

    Args:
        state: Two-letter US state code, e.g. CA, TX or NY.
    """
    code = normalize_state(state)  # non-retryable InvalidState for a bad code
    lines = [f"Forecast for {code}:"]
    for day in ("Today", "Tomorrow"):
        n = _seed(code, day)
        high = 45 + n % 50
        low = high - 8 - (n >> 8) % 15
        rain = (n >> 16) % 10 * 10
        wind = 3 + (n >> 20) % 25
        sky = _SKIES[(n >> 24) % len(_SKIES)]
        lines.append(f"{day}: {sky}, high {high}°F, low {low}°F, {rain}% chance of rain, wind {wind} mph.")
    return " ".join(lines)


def forecast_tool() -> FunctionTool:
    """``get_forecast`` as an agent tool that runs as a Temporal activity (errors reported to the model).
    ``activity_as_tool`` registers nothing: a worker lists ``get_forecast`` among its activities."""
    tool = activity_as_tool(get_forecast, start_to_close_timeout=FORECAST_START_TO_CLOSE, retry_policy=FORECAST_RETRY_POLICY)
    assert isinstance(tool, FunctionTool)
    return errors_as_tool_results(tool)
