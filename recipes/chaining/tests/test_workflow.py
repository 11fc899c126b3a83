"""The handoff pattern with the model scripted: the router hands the question to a specialist, who answers."""

from __future__ import annotations

import uuid

import pytest
from temporalio.openai_agents.testing import AgentEnvironment, ResponseBuilders, TestModel
from temporalio.worker import Worker

from recipes.chaining.workflows import MODEL_PARAMS, HandoffWorkflow
from recipes.core.testing import scheduled_activities


@pytest.mark.asyncio
async def test_the_router_hands_off_and_the_specialist_answers(env):
    model = TestModel.returning_responses([
        ResponseBuilders.tool_call("{}", "transfer_to_alerts_specialist"),  # the router's one move: a handoff
        ResponseBuilders.output_message("No alerts in Texas today."),  # the specialist, now running the loop
    ])  # fmt: skip
    async with AgentEnvironment(model=model, model_params=MODEL_PARAMS) as agents:
        client = agents.applied_on_client(env.client)
        queue = f"chaining-test-{uuid.uuid4().hex[:8]}"
        async with Worker(client, task_queue=queue, workflows=[HandoffWorkflow], workflow_failure_exception_types=[Exception]):
            handle = await client.start_workflow(HandoffWorkflow.run, "Any alerts in Texas?", id=queue, task_queue=queue)
            answer = await handle.result()
    assert (answer.answered_by, answer.answer) == ("Alerts specialist", "No alerts in Texas today."), answer
    assert scheduled_activities(await handle.fetch_history()) == ["invoke_model_activity"] * 2, (
        "a handoff is decided in the workflow: no activity of its own between the two model calls")
