"""Tool implementations: plain async functions, registered on the worker.

They are *not* Temporal activities and the workflow never imports them. The
worker's dynamic activity (:mod:`recipes.dynamic_tools.activities`) calls
them by name through a :class:`~recipes.dynamic_tools.registry.ToolRegistry`.
Each function's docstring becomes the tool description and its signature the
JSON schema, exactly as with ``@function_tool``.
"""

from __future__ import annotations

from typing import Literal

from temporalio.exceptions import ApplicationError

from recipes.tools.weather_alerts import fetch_alerts, normalize_state, summarize_alerts


async def get_weather_alerts(state: str) -> str:
    """Get active weather alerts (warnings, watches, advisories) for a US state from the National Weather Service.

    Args:
        state: Two-letter US state code, e.g. CA, TX or NY.
    """
    code = normalize_state(state)  # non-retryable InvalidState for a bad code
    return summarize_alerts(code, await fetch_alerts(code))  # retryable errors for 5xx/429/...


async def convert_temperature(value: float, unit: Literal["C", "F"]) -> str:
    """Convert a temperature between Celsius and Fahrenheit.

    Args:
        value: The temperature to convert.
        unit: The unit of the given value: C (Celsius) or F (Fahrenheit).
    """
    if unit == "C":
        return f"{value:g} °C = {value * 9 / 5 + 32:.1f} °F"
    if unit == "F":
        return f"{value:g} °F = {(value - 32) * 5 / 9:.1f} °C"
    raise ApplicationError(f"unit must be C or F, got {unit!r}", type="InvalidUnit", non_retryable=True)


#: The tools a worker starts with.
BUILTIN_TOOLS = [get_weather_alerts, convert_temperature]
