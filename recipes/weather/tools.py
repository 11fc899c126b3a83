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
``activity_as_tool`` returns a bare ``FunctionTool``. If its activity fails
(a non-retryable ``InvalidState``, or retries exhausted), the exception leaves
``on_invoke_tool``; the Agents SDK's runner turns any exception from a tool
into ``UserError("Error running tool ...")`` (agents/run_internal/tool_execution.py),
and the Temporal runner re-raises it as ``AgentsWorkflowError`` -- the whole
workflow fails. Malformed JSON arguments raise ``ApplicationError`` before any
activity is scheduled, with the same result; arguments that do not fit the
schema raise pydantic's ``ValidationError``, which is not a Temporal failure
type at all, so the *workflow task* would fail and be retried forever.

:func:`errors_as_tool_results` wraps such a tool so that these *expected*
failures become the tool's result text, e.g.
``"Tool get_weather_alerts failed: 'ZZ' is not a US state code; ..."`` --
the model reads it and can correct itself or explain the problem, and the
workflow completes. Anything else (a bug in workflow code, cancellation)
still propagates, as it should.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Literal

from agents import FunctionTool, function_tool
from pydantic import ValidationError
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError, FailureError
from temporalio.openai_agents.workflow import activity_as_tool

from recipes.weather.activities import INVALID_STATE, NWS_REQUEST_REJECTED, get_weather_alerts

__all__ = [
    "ALERTS_RETRY_POLICY",
    "SEVERITY_LEVELS",
    "errors_as_tool_results",
    "explain_severity",
    "tool_error_text",
    "weather_alerts_tool",
]

#: Retries for the NWS call. Transient failures (5xx, 429, timeouts, garbage
#: pages) are retried with backoff -- 1 s, 2 s, 4 s, 8 s, capped at 10 s -- and a
#: 429's Retry-After overrides the interval (the activity sets next_retry_delay).
#: Five attempts bound the damage; a bad state code is never retried.
ALERTS_RETRY_POLICY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=5,
    non_retryable_error_types=[INVALID_STATE, NWS_REQUEST_REJECTED],
)

#: One attempt: a little longer than the activity's own HTTP timeout
#: (NWS_TIMEOUT_S, default 10 s), so a slow API ends as a clear ``NWSTimeout``
#: error from the activity rather than an anonymous start-to-close timeout.
ALERTS_START_TO_CLOSE = timedelta(seconds=15)

#: The whole tool call, retries and backoff included: a person is waiting.
ALERTS_SCHEDULE_TO_CLOSE = timedelta(minutes=2)


def tool_error_text(tool_name: str, error: BaseException) -> str:
    """The text the model receives when a tool call fails: what went wrong, and whether retrying helps."""
    cause: BaseException = error
    while isinstance(cause, ActivityError) and cause.cause is not None:
        cause = cause.cause
    message = getattr(cause, "message", None) or str(cause)
    if isinstance(cause, ValidationError):  # pydantic: arguments that do not fit the schema
        message = "invalid arguments: " + "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in cause.errors()
        )
    details = []
    if isinstance(cause, ApplicationError) and cause.type:
        details.append(cause.type)
    if isinstance(error, ActivityError):
        state = error.retry_state.name.lower() if error.retry_state is not None else ""
        if state == "maximum_attempts_reached":
            details.append("gave up after the maximum number of attempts")
        elif state == "timeout":
            details.append("gave up: time budget exhausted")
        elif state == "non_retryable_failure":
            details.append("not retried: retrying cannot help")
    elif not isinstance(error, FailureError):
        details.append(type(error).__name__)
    suffix = f" ({'; '.join(details)})" if details else ""
    return f"Tool {tool_name} failed: {message}{suffix}. Check the arguments or tell the user."


def errors_as_tool_results(tool: FunctionTool) -> FunctionTool:
    """A copy of ``tool`` whose expected failures become the tool's result text.

    Caught: ``ActivityError`` (the activity failed for good), ``ApplicationError``
    (e.g. activity_as_tool's "Invalid JSON input"), ``ValueError`` (pydantic's
    ``ValidationError`` for arguments that do not fit the schema). Cancellation
    and programming errors propagate.
    """
    invoke: Callable[[Any, str], Awaitable[Any]] = tool.on_invoke_tool

    async def invoke_reporting_errors(ctx: Any, args: str) -> Any:
        try:
            return await invoke(ctx, args)
        except ActivityError as err:
            if isinstance(err.cause, CancelledError):
                raise
            return tool_error_text(tool.name, err)
        except (ApplicationError, ValueError) as err:
            return tool_error_text(tool.name, err)

    return dataclasses.replace(tool, on_invoke_tool=invoke_reporting_errors)


def weather_alerts_tool() -> FunctionTool:
    """``get_weather_alerts`` as an agent tool that runs as a Temporal activity."""
    tool = activity_as_tool(
        get_weather_alerts,
        start_to_close_timeout=ALERTS_START_TO_CLOSE,
        schedule_to_close_timeout=ALERTS_SCHEDULE_TO_CLOSE,
        retry_policy=ALERTS_RETRY_POLICY,
    )
    assert isinstance(tool, FunctionTool)
    return errors_as_tool_results(tool)


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
