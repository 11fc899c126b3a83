"""Tool errors the model can act on, instead of a failed workflow.

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

Used by every recipe whose tools run as activities: ``activity_as_tool``
tools (weather, durability, the small agents of chaining, parallel_agents and agent_session) and
hand-built ones (dynamic tools).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from agents import FunctionTool
from pydantic import ValidationError
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError, FailureError

__all__ = ["errors_as_tool_results", "tool_error_text"]


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
