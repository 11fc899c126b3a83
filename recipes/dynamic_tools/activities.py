"""Two activities serve every tool: a dynamic one, and one that lists the tools.

``run_tool`` is registered with ``@activity.defn(dynamic=True)``: the worker
hands it any activity whose type has no registered implementation. Its name
(the tool name the workflow asked for) is ``activity.info().activity_type``,
and its arguments arrive unconverted, as ``Sequence[RawValue]``, to be decoded
with ``activity.payload_converter()``.

Without it, an activity type nobody registered would fail on the worker with
a *retryable* "not registered" error -- retried until its timeout, the agent
stuck waiting. With it, an unknown tool fails at once with a non-retryable
``UnknownTool`` error that the workflow hands to the model as tool output.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from temporalio import activity
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

from recipes.dynamic_tools.registry import ToolRegistry
from recipes.dynamic_tools.specs import INVALID_TOOL_ARGUMENTS, LIST_TOOLS_ACTIVITY, ToolSpec


class ToolActivities:
    """The activities for one registry; list ``.activities()`` on the Worker."""

    def __init__(self, registry: ToolRegistry) -> None:
        self.registry = registry

    @activity.defn(dynamic=True)
    async def run_tool(self, args: Sequence[RawValue]) -> str:
        name = activity.info().activity_type
        arguments: Any = activity.payload_converter().from_payload(args[0].payload) if args else {}
        if not isinstance(arguments, dict):
            raise ApplicationError(
                f"Tool {name!r} expects a JSON object of arguments, got {type(arguments).__name__}",
                type=INVALID_TOOL_ARGUMENTS,
                non_retryable=True,
            )
        activity.logger.debug("tool %s(%s)", name, arguments)
        return await self.registry.call(name, arguments)

    @activity.defn(name=LIST_TOOLS_ACTIVITY)
    async def list_tools(self) -> list[ToolSpec]:
        """The specs of every tool this worker can run (read at call time)."""
        return self.registry.specs()

    def activities(self) -> list:
        return [self.run_tool, self.list_tools]
