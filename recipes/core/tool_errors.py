"""Tool errors the model can act on, instead of a failed workflow.

An ``activity_as_tool`` tool whose activity fails for good (a non-retryable ``InvalidState``, retries run
out), or whose arguments are not JSON, fails the whole workflow; arguments that do not fit the schema raise
pydantic's ``ValidationError``, which fails the *workflow task* forever. :func:`errors_as_tool_results` makes
these the tool's result text ("Tool get_weather_alerts failed: 'ZZ' is not a US state code; ..."): the model
reads it, corrects itself or explains, and the run completes. A bug or a cancellation still propagates.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from agents import FunctionTool
from pydantic import ValidationError
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError, FailureError, RetryState

_GAVE_UP = {RetryState.MAXIMUM_ATTEMPTS_REACHED: "gave up after the maximum number of attempts",
            RetryState.TIMEOUT: "gave up: time budget exhausted",
            RetryState.NON_RETRYABLE_FAILURE: "not retried: retrying cannot help"}  # fmt: skip


def tool_error_text(tool_name: str, error: BaseException) -> str:
    """The text the model receives when a tool call fails: what went wrong, and whether retrying helps."""
    cause: BaseException = error
    while isinstance(cause, ActivityError) and cause.cause is not None:
        cause = cause.cause
    message = getattr(cause, "message", None) or str(cause)
    if isinstance(cause, ValidationError):
        message = "invalid arguments: " + "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in cause.errors())
    details = [cause.type] if isinstance(cause, ApplicationError) and cause.type else []
    if isinstance(error, ActivityError):
        details += [_GAVE_UP[error.retry_state]] if error.retry_state in _GAVE_UP else []
    elif not isinstance(error, FailureError):
        details.append(type(error).__name__)
    suffix = f" ({'; '.join(details)})" if details else ""
    return f"Tool {tool_name} failed: {message}{suffix}. Check the arguments or tell the user."


def errors_as_tool_results(tool: FunctionTool) -> FunctionTool:
    """A copy of ``tool`` whose expected failures -- ``ActivityError`` (not a cancellation),
    ``ApplicationError`` (activity_as_tool's "Invalid JSON input"), ``ValueError`` (pydantic's
    ``ValidationError``) -- become its result text."""
    invoke = tool.on_invoke_tool

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
