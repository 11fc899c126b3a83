"""The weather agent's tools, and where each one runs (README.md, "Which tools are activities").

``get_weather_alerts`` does I/O, so it is an activity made a tool (``activity_as_tool``): scheduled by the
workflow, retried by the server, its result stored in the history. ``explain_severity`` is pure, so it is an
``async def`` ``@function_tool`` that runs in the workflow and must stay deterministic. A failed
``get_weather_alerts`` reaches the model as text (:func:`recipes.core.tool_errors.errors_as_tool_results`).
"""

from __future__ import annotations

# Defined in recipes/tools so that every recipe giving an agent these tools shares one
# definition; the reasoning above is where they are taught.
from recipes.tools.alerts_tool import (
    ALERTS_RETRY_POLICY,
    ALERTS_SCHEDULE_TO_CLOSE,
    ALERTS_START_TO_CLOSE,
    SEVERITY_LEVELS,
    explain_severity,
    weather_alerts_tool,
)

__all__ = [
    "ALERTS_RETRY_POLICY",
    "ALERTS_SCHEDULE_TO_CLOSE",
    "ALERTS_START_TO_CLOSE",
    "SEVERITY_LEVELS",
    "explain_severity",
    "weather_alerts_tool",
]
