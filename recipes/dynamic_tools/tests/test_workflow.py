"""The dynamic-tools workflow with the model scripted: it offers whatever tools the worker's registry holds
(asked through ``list_tools``, so the answer is in the history), each call is an activity named after the
tool, and a tool the worker does not have reaches the model as the tool's answer."""

from __future__ import annotations

import json
import uuid

import pytest
from temporalio.openai_agents.testing import AgentEnvironment, ResponseBuilders, TestModel
from temporalio.worker import Worker

from recipes.core.testing import scheduled_activities
from recipes.dynamic_tools.activities import ToolActivities
from recipes.dynamic_tools.extra_tools import get_state_capital
from recipes.dynamic_tools.registry import ToolRegistry
from recipes.dynamic_tools.specs import ToolSpec
from recipes.dynamic_tools.tools import convert_temperature
from recipes.dynamic_tools.workflows import MODEL_PARAMS, DynamicToolsWorkflow, ToolAgentRequest


async def ask(env, model: TestModel, request: ToolAgentRequest, registry: ToolRegistry):
    async with AgentEnvironment(model=model, model_params=MODEL_PARAMS) as agents:
        client = agents.applied_on_client(env.client)
        queue = f"dynamic-test-{uuid.uuid4().hex[:8]}"
        async with Worker(client, task_queue=queue, workflows=[DynamicToolsWorkflow],
                          activities=ToolActivities(registry).activities(), workflow_failure_exception_types=[Exception]):  # fmt: skip
            handle = await client.start_workflow(DynamicToolsWorkflow.run, request, id=queue, task_queue=queue)
            return handle, await handle.result(), await handle.query(DynamicToolsWorkflow.tool_names)


@pytest.mark.asyncio
async def test_a_tool_added_on_the_worker_is_offered_and_runs_as_its_own_activity(env):
    registry = ToolRegistry([convert_temperature])
    registry.add(get_state_capital)  # a worker-side change only: the workflow code is the same
    model = TestModel.returning_responses([
        ResponseBuilders.tool_call(json.dumps({"state": "TX"}), "get_state_capital"),
        ResponseBuilders.output_message("Austin."),
    ])  # fmt: skip
    handle, answer, offered = await ask(env, model, ToolAgentRequest("What is the capital of Texas?"), registry)
    assert answer == "Austin." and offered == ["convert_temperature", "get_state_capital"], offered
    assert scheduled_activities(await handle.fetch_history()) == [
        "list_tools", "invoke_model_activity", "get_state_capital", "invoke_model_activity"]  # fmt: skip


@pytest.mark.asyncio
async def test_a_tool_the_worker_does_not_have_is_the_tools_answer_and_the_run_completes(env):
    tides = ToolSpec("get_tide_times", "Tide times for a port.",
                     {"type": "object", "properties": {"port": {"type": "string"}}, "required": ["port"],
                      "additionalProperties": False})  # fmt: skip
    model = TestModel.returning_responses([
        ResponseBuilders.tool_call(json.dumps({"port": "Boston"}), "get_tide_times"),
        ResponseBuilders.output_message("This worker has no tide tool."),
    ])  # fmt: skip
    handle, answer, _ = await ask(env, model, ToolAgentRequest("Tides in Boston?", tools=[tides]), ToolRegistry())
    assert answer == "This worker has no tide tool."
    told = [e.activity_task_scheduled_event_attributes.input.payloads[0].data.decode()
            for e in (await handle.fetch_history()).events
            if e.activity_task_scheduled_event_attributes.activity_type.name == "invoke_model_activity"][-1]  # fmt: skip
    assert "Unknown tool 'get_tide_times'" in told and "not retried" in told, told
