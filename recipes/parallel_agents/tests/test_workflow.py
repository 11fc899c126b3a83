"""The briefing with the model scripted: one branch agent per state, a bad state failing only its own branch,
the writer told which report is missing -- in one workflow (``asyncio.gather``) and as child workflows.

Branches run at once, so their model calls come in no fixed order: the scripted model answers by who asks
(each agent's instructions name its state), not by position. The weather tool is the real activity with its
HTTP request replaced, so ``ZZ`` is refused as in production, before any request.
"""

from __future__ import annotations

import json
import re
import uuid

import pytest
from agents import ModelResponse
from temporalio.openai_agents.testing import AgentEnvironment, ResponseBuilders, TestModel
from temporalio.worker import Worker

import recipes.tools.weather_alerts as weather_alerts
from recipes.parallel_agents.workflows import (
    MODEL_PARAMS,
    BranchAgentWorkflow,
    BriefingRequest,
    ChildWorkflowBriefing,
    FanOutBriefingWorkflow,
)

NO_ALERTS = {"features": []}


class ByAgent(TestModel):
    """A branch agent looks its state up, then reports the tool's answer; the writer lists what it was told is
    missing. What the writer was asked is kept in ``writer_asked``."""

    def __init__(self) -> None:
        super().__init__(lambda: None)
        self.writer_asked = ""

    async def get_response(self, system_instructions, input, *args, **kwargs) -> ModelResponse:
        if "briefing" in system_instructions:
            self.writer_asked = input[-1]["content"]
            missing = re.findall(r'"(\w\w)"', self.writer_asked.split("States with no report:")[1])
            return ResponseBuilders.output_message(json.dumps({"missing_branches": missing, "summary": "Quiet."}))
        state = re.search(r"US state (\w\w)", system_instructions)[1]
        results = [item["output"] for item in input if isinstance(item, dict) and item.get("type") == "function_call_output"]
        if not results:
            return ResponseBuilders.tool_call(json.dumps({"state": state}), "get_weather_alerts", call_id=f"call-{state}")
        return ResponseBuilders.output_message(f"{state}: {results[0]}")


async def brief(env, workflow_run, states: list[str]):
    model = ByAgent()
    async with AgentEnvironment(model=model, model_params=MODEL_PARAMS) as agents:
        client = agents.applied_on_client(env.client)
        queue = f"parallel-test-{uuid.uuid4().hex[:8]}"
        async with Worker(client, task_queue=queue, activities=[weather_alerts.get_weather_alerts],
                          workflows=[FanOutBriefingWorkflow, ChildWorkflowBriefing, BranchAgentWorkflow],
                          workflow_failure_exception_types=[Exception]):  # fmt: skip
            handle = await client.start_workflow(workflow_run, BriefingRequest(states), id=queue, task_queue=queue)
            return model, handle, await handle.result()


@pytest.fixture(autouse=True)
def no_weather_service(monkeypatch):
    async def fetched(state: str) -> dict:
        return NO_ALERTS

    monkeypatch.setattr(weather_alerts, "fetch_alerts", fetched)


@pytest.mark.asyncio
async def test_a_bad_state_fails_only_its_branch_and_the_writer_is_told(env):
    model, handle, result = await brief(env, FanOutBriefingWorkflow.run, ["CA", "ZZ", "TX"])
    assert sorted(result.reports) == ["CA", "TX"] and result.reports["CA"].startswith("CA: No active"), result.reports
    assert result.failures == {"ZZ": "InvalidState: 'ZZ' is not a US state code; use a two-letter code such as CA or TX."}
    assert result.missing_branches == ["ZZ"] and "from the 2 reports" in model.writer_asked, model.writer_asked
    history = await handle.fetch_history()
    first_calls = [e for e in history.events if e.HasField("activity_task_scheduled_event_attributes")][:3]
    assert len({e.activity_task_scheduled_event_attributes.workflow_task_completed_event_id for e in first_calls}) == 1, (
        "the three branches' first model calls were scheduled in one workflow task: the branches ran at once")


@pytest.mark.asyncio
async def test_each_branch_is_a_child_workflow_of_its_own(env):
    _, handle, result = await brief(env, ChildWorkflowBriefing.run, ["CA", "ZZ"])
    assert list(result.reports) == ["CA"] and list(result.failures) == ["ZZ"], result
    assert "InvalidState" in result.failures["ZZ"] and result.missing_branches == ["ZZ"], result
    children = {e.start_child_workflow_execution_initiated_event_attributes.workflow_id
                for e in (await handle.fetch_history()).events
                if e.HasField("start_child_workflow_execution_initiated_event_attributes")}  # fmt: skip
    assert children == {f"{handle.id}-CA", f"{handle.id}-ZZ"}, children
