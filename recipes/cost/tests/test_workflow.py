"""The timed agent with the model scripted: how its model calls run is the worker's choice, not the workflow's --
activities with ``MODEL_PARAMS``, local activities (markers in the history, no round trip to the server) with
``LOCAL_MODEL_PARAMS`` -- and ``step_breakdown`` reads where a run's time went from its history. The weather tool
is an activity of the same name that returns canned alerts."""

from __future__ import annotations

import json
import uuid

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.openai_agents import ModelActivityParameters
from temporalio.openai_agents.testing import AgentEnvironment, ResponseBuilders, TestModel
from temporalio.worker import Worker

from recipes.core.testing import scheduled_activities
from recipes.cost.measure import step_breakdown
from recipes.cost.workflows import LOCAL_MODEL_PARAMS, MODEL_PARAMS, CostAgentWorkflow


@activity.defn(name="get_weather_alerts")
async def canned_alerts(state: str) -> str:
    return f"No active weather alerts for {state}."


async def one_run(env, model_params: ModelActivityParameters):
    model = TestModel.returning_responses([ResponseBuilders.tool_call(json.dumps({"state": "CA"}), "get_weather_alerts"),
                                           ResponseBuilders.output_message("No alerts in California.")])  # fmt: skip
    async with AgentEnvironment(model=model, model_params=model_params) as agents:
        client = agents.applied_on_client(env.client)
        queue = f"cost-test-{uuid.uuid4().hex[:8]}"
        async with Worker(client, task_queue=queue, workflows=[CostAgentWorkflow], activities=[canned_alerts],
                          workflow_failure_exception_types=[Exception]):  # fmt: skip
            handle = await client.start_workflow(CostAgentWorkflow.run, "Any alerts in California?", id=queue, task_queue=queue)
            return await handle.result(), await handle.fetch_history()


@pytest.mark.asyncio
async def test_model_calls_are_activities_and_each_activity_is_timed(env):
    answer, history = await one_run(env, MODEL_PARAMS)
    assert answer == "No alerts in California."
    assert scheduled_activities(history) == ["invoke_model_activity", "get_weather_alerts", "invoke_model_activity"]
    spent = step_breakdown(history)
    assert len(spent.activities) == 3 and all(ms >= 0 for ms in spent.activities), spent
    assert sum(spent.activities) <= spent.server_span, spent


@pytest.mark.asyncio
async def test_the_same_workflow_on_a_worker_with_local_model_calls_records_markers_instead(env):
    answer, history = await one_run(env, LOCAL_MODEL_PARAMS)
    assert answer == "No alerts in California."
    assert scheduled_activities(history) == ["get_weather_alerts"], "only the tool went through the server"
    markers = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED]
    assert len(markers) == 2, "each model call is a local activity, recorded as a marker"
    assert len(step_breakdown(history).activities) == 1, "a local activity's time is the workflow task's, not an activity's"
