"""Tool errors the model can act on, instead of a failed workflow.

If an ``activity_as_tool`` tool's activity fails for good (a non-retryable ``InvalidState``, retries run
out), the Agents SDK turns the exception into ``UserError`` and the Temporal runner fails the whole workflow;
malformed JSON arguments do the same before any activity is scheduled, and arguments that do not fit the
schema raise pydantic's ``ValidationError``, which fails the *workflow task* forever. :func:`errors_as_tool_results`
makes these *expected* failures the tool's result text ("Tool get_weather_alerts failed: 'ZZ' is not a US
state code; ..."): the model reads it, corrects itself or explains, and the run completes. Anything else (a
bug, cancellation) still propagates.
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
