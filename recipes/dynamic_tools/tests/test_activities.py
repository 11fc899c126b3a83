"""The dynamic tool activity alone, with ``ActivityEnvironment`` (no server): the activity type Temporal hands it
is the tool's name, its arguments arrive as raw payloads, and what the registry cannot run is refused for good."""

from __future__ import annotations

import dataclasses

import pytest
from temporalio.common import RawValue
from temporalio.converter import default as default_converter
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from recipes.dynamic_tools.activities import ToolActivities
from recipes.dynamic_tools.registry import ToolRegistry
from recipes.dynamic_tools.specs import INVALID_TOOL_ARGUMENTS, UNKNOWN_TOOL
from recipes.dynamic_tools.tools import convert_temperature


async def call(tool: str, arguments: object) -> str:
    """Run the worker's dynamic activity as Temporal would for an activity named ``tool``."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, activity_type=tool)
    raw = RawValue(default_converter().payload_converter.to_payload(arguments))
    return await env.run(ToolActivities(ToolRegistry([convert_temperature])).run_tool, [raw])


@pytest.mark.asyncio
async def test_the_tool_named_by_the_activity_type_runs_with_its_arguments():
    assert await call("convert_temperature", {"value": 30, "unit": "C"}) == "30 °C = 86.0 °F"


@pytest.mark.asyncio
@pytest.mark.parametrize("tool, arguments, error_type", [
    ("get_tide_times", {"port": "Boston"}, UNKNOWN_TOOL),
    ("convert_temperature", {"value": "warm", "unit": "C"}, INVALID_TOOL_ARGUMENTS),
    ("convert_temperature", ["30", "C"], INVALID_TOOL_ARGUMENTS),
])  # fmt: skip
async def test_what_the_registry_cannot_run_is_refused_and_never_retried(tool, arguments, error_type):
    with pytest.raises(ApplicationError) as refused:
        await call(tool, arguments)
    assert refused.value.type == error_type and refused.value.non_retryable, refused.value
