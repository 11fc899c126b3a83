"""The weather agent's tools, and where each one runs.

Two kinds of tools, two places:

* **Activity tools** -- anything that does I/O (HTTP, files, databases,
  clocks, randomness). ``get_weather_alerts`` calls the NWS API, so it is a
  Temporal activity made into a tool with ``activity_as_tool``. Each call is
  scheduled by the workflow, executed by a worker, retried by the server on
  failure, and its result is stored in the event history -- so after a crash
  the workflow replays the stored result instead of calling the API again.
* **Workflow tools** -- pure, deterministic functions (``@function_tool``).
  ``explain_severity`` only reads a constant table, so it runs inline in the
  workflow: no activity, no event, no network round trip. It must stay
  deterministic: on replay the workflow runs it again and must get the same
  answer. The moment a tool needs I/O, it becomes an activity. A workflow
  tool must be ``async def``: the Agents SDK runs a plain ``def`` tool in a
  thread (``asyncio.to_thread``), and workflow code cannot start threads --
  the call would fail and the model would only see "An error occurred".

Tool errors the model can act on
--------------------------------
``activity_as_tool`` returns a bare ``FunctionTool`` whose failures would fail
the workflow; :func:`weather_alerts_tool` wraps it with
:func:`recipes.core.tool_errors.errors_as_tool_results`, so a bad state code
or an exhausted retry budget reaches the model as the tool's result text.
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
