"""Shipping a new step while a run is open, with the model scripted: a run started on version 1 and waiting
for its approval finishes on version 2's worker without the step (``workflow.patched``), a new run takes it;
and version 2 refuses personal data before the model is asked."""

from __future__ import annotations

import uuid

import pytest
from temporalio.openai_agents.testing import AgentEnvironment, ResponseBuilders, TestModel
from temporalio.worker import Worker

from recipes.core.testing import scheduled_activities
from recipes.shipping.activities import screen_question
from recipes.shipping.workflows import MODEL_PARAMS, ReviewedAgentV1, ReviewedAgentV2


def worker(client, queue: str, code: type) -> Worker:
    return Worker(client, task_queue=queue, workflows=[code], activities=[screen_question],
                  workflow_failure_exception_types=[Exception])  # fmt: skip


@pytest.mark.asyncio
async def test_a_run_open_before_the_patch_finishes_on_its_old_path_and_a_new_run_is_screened(env):
    model = TestModel.returning_responses([ResponseBuilders.output_message("No alerts in Texas.")] * 2)
    queue = f"shipping-test-{uuid.uuid4().hex[:8]}"
    async with AgentEnvironment(model=model, model_params=MODEL_PARAMS) as agents:
        client = agents.applied_on_client(env.client)
        async with worker(client, queue, ReviewedAgentV1):
            old = await client.start_workflow(ReviewedAgentV1.run, "Any alerts in Texas?", id=f"{queue}-old", task_queue=queue)
            assert await old.query(ReviewedAgentV1.waiting_for_approval), "version 1's run waits for its approval"
        async with worker(client, queue, ReviewedAgentV2):  # the deployment: version 2 replaces version 1
            await old.signal(ReviewedAgentV2.approve)
            kept = await old.result()
            new = await client.start_workflow(ReviewedAgentV2.run, "Any alerts in Texas?", id=f"{queue}-new", task_queue=queue)
            await new.signal(ReviewedAgentV2.approve)
            screened = await new.result()
    assert kept.answer == "No alerts in Texas." and not kept.screened, kept
    assert "screen_question" not in scheduled_activities(await old.fetch_history())
    assert screened.screened and scheduled_activities(await new.fetch_history())[0] == "screen_question", screened


@pytest.mark.asyncio
async def test_version_two_refuses_personal_data_before_anyone_or_any_model_sees_it(env):
    queue = f"shipping-test-{uuid.uuid4().hex[:8]}"
    async with AgentEnvironment(model=TestModel.returning_responses([]), model_params=MODEL_PARAMS) as agents:
        client = agents.applied_on_client(env.client)
        async with worker(client, queue, ReviewedAgentV2):
            handle = await client.start_workflow(ReviewedAgentV2.run, "Alerts? Mail ada@example.com", id=queue, task_queue=queue)
            refused = await handle.result()
    assert refused.screened and "an e-mail address" in refused.refused and not refused.answer, refused
    assert scheduled_activities(await handle.fetch_history()) == ["screen_question"], "no approval asked, no model called"
