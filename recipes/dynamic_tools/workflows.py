"""An agent whose tools are data: specs in, ``execute_activity("<tool name>")`` out.

This module imports no tool implementation. The workflow gets its tools as
:class:`~recipes.dynamic_tools.specs.ToolSpec` lists -- from the workflow
input, or from the worker through the ``list_tools`` activity -- and builds
one ``FunctionTool`` per spec whose invocation is::

    await workflow.execute_activity("<tool name>", arguments, ...)

No activity by that name is registered anywhere; the worker's dynamic activity
(:mod:`recipes.dynamic_tools.activities`) receives it and runs the tool from its
registry. So a new tool is a worker-side change: register it, and the next
workflow run offers it to the model.

Why ``list_tools`` is an activity and not a registry read in workflow code:
the answer depends on the worker's state, so it must be recorded in the
history. A replay -- on another worker, after tools were added -- sees the same
list the original run saw, and stays deterministic.

A tool failure (unknown tool, invalid arguments, retries exhausted) comes back
to the model as the tool's result text; the workflow completes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from agents import Agent, FunctionTool, Runner
    from temporalio.openai_agents import ModelActivityParameters

    from recipes.core.models import MODEL_RETRY_POLICY
    from recipes.core.tool_errors import errors_as_tool_results
    from recipes.dynamic_tools.specs import (
        INVALID_TOOL_ARGUMENTS,
        LIST_TOOLS_ACTIVITY,
        UNKNOWN_TOOL,
        ToolSpec,
    )

TASK_QUEUE = "dynamic-tools"
TASK_QUEUE_ENV = "DYNAMIC_TOOLS_TASK_QUEUE"


def default_task_queue() -> str:
    """``$DYNAMIC_TOOLS_TASK_QUEUE`` or ``dynamic-tools``. Notebooks and tests pick a queue of their own,
    so a worker someone left running cannot take their runs."""
    return os.environ.get(TASK_QUEUE_ENV) or TASK_QUEUE
AGENT_NAME = "Tool agent"
INSTRUCTIONS = (
    "Answer the user's question with the tools you have. If a tool reports an error, "
    "explain the error to the user instead of guessing."
)

#: Tool calls: 1 s, 2 s, 4 s ... capped at 10 s, 3 attempts; unknown tools and
#: invalid arguments are never retried (the activity also marks them so).
TOOL_RETRY_POLICY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=3,
    non_retryable_error_types=[UNKNOWN_TOOL, INVALID_TOOL_ARGUMENTS],
)
TOOL_START_TO_CLOSE = timedelta(seconds=15)
TOOL_SCHEDULE_TO_CLOSE = timedelta(minutes=2)

#: Model calls: the same choices as the weather agent (see recipes/weather/workflows.py).
MODEL_PARAMS = ModelActivityParameters(
    start_to_close_timeout=timedelta(seconds=60),
    heartbeat_timeout=timedelta(seconds=10),
    schedule_to_close_timeout=timedelta(minutes=5),
    retry_policy=MODEL_RETRY_POLICY,
)


@dataclass
class ToolAgentRequest:
    question: str
    tools: list[ToolSpec] | None = None
    """The tools to offer; ``None`` asks the worker (``list_tools`` activity)."""


def build_tool(spec: ToolSpec) -> FunctionTool:
    """A FunctionTool whose invocation is the activity named after the tool;
    its failures reach the model as text (see recipes.core.tool_errors)."""

    async def invoke(_ctx: Any, args_json: str) -> str:
        try:
            arguments = json.loads(args_json or "{}")
        except ValueError as err:
            raise ApplicationError(f"the arguments are not valid JSON ({err}); send a JSON object") from err
        return await workflow.execute_activity(
            spec.name,  # no such registered activity: the dynamic activity gets it
            arguments,
            result_type=str,
            start_to_close_timeout=TOOL_START_TO_CLOSE,
            schedule_to_close_timeout=TOOL_SCHEDULE_TO_CLOSE,
            retry_policy=TOOL_RETRY_POLICY,
            summary=f"tool {spec.name}",
        )

    try:
        tool = FunctionTool(
            name=spec.name,
            description=spec.description,
            params_json_schema=spec.parameters,
            on_invoke_tool=invoke,
            strict_json_schema=spec.strict,
        )
    except Exception as err:  # e.g. a schema that cannot be made strict
        raise ApplicationError(
            f"Tool spec {spec.name!r} is not usable: {err}", type="InvalidToolSpec", non_retryable=True
        ) from err
    return errors_as_tool_results(tool)


@workflow.defn
class DynamicToolsWorkflow:
    """Answer one question with whatever tools the specs describe."""

    def __init__(self) -> None:
        self._tool_names: list[str] = []

    @workflow.run
    async def run(self, request: ToolAgentRequest) -> str:
        specs = request.tools
        if specs is None:
            specs = await workflow.execute_activity(
                LIST_TOOLS_ACTIVITY,
                result_type=list[ToolSpec],
                start_to_close_timeout=timedelta(seconds=10),
                retry_policy=RetryPolicy(maximum_attempts=3),
                summary="which tools does the worker have?",
            )
        self._tool_names = [spec.name for spec in specs]
        agent = Agent(name=AGENT_NAME, instructions=INSTRUCTIONS, tools=[build_tool(s) for s in specs])
        result = await Runner.run(agent, request.question)
        return str(result.final_output)

    @workflow.query
    def tool_names(self) -> list[str]:
        """The tools this run offered the model."""
        return self._tool_names
