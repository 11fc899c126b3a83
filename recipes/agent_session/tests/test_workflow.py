"""The session workflow with the model scripted: a day-long wait passed in about a second, and a person
rejecting a tool call that then never runs.

The session's timers are real: ``recheck_in_hours(TX, 24)`` sets a 24-hour durable timer (one "hour" is
3600 s, the recipe's default, untouched). The ``env`` fixture's server skips time for a workflow that has
nothing to do but wait, so the day passes at once and the test reads it from workflow time, not the clock.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import datetime, timedelta

import pytest
from agents import ModelResponse
from temporalio import activity
from temporalio.openai_agents.testing import AgentEnvironment, ResponseBuilders, TestModel
from temporalio.worker import Worker

from recipes.agent_session.workflows import (
    MODEL_PARAMS,
    ApprovalDecision,
    ConversationSessionWorkflow,
    SessionInput,
    UserMessage,
)
from recipes.core.testing import scheduled_activities

broadcasts: list[str] = []


@activity.defn(name="get_weather_alerts")
async def canned_alerts(state: str) -> str:
    return f"No active weather alerts for {state}."


@activity.defn(name="broadcast_public_notice")
async def broadcast_public_notice(state: str, message: str) -> str:
    broadcasts.append(message)
    return "sent"


def call(tool: str, **arguments) -> ModelResponse:
    return ResponseBuilders.tool_call(json.dumps(arguments), tool)


async def start_session(env, agents: AgentEnvironment, queue: str):
    client = agents.applied_on_client(env.client)
    worker = Worker(client, task_queue=queue, workflows=[ConversationSessionWorkflow],
                    activities=[canned_alerts, broadcast_public_notice],
                    workflow_failure_exception_types=[Exception])  # fmt: skip
    handle = await client.start_workflow(ConversationSessionWorkflow.run, SessionInput(), id=queue, task_queue=queue)
    return worker, handle


@pytest.mark.asyncio
async def test_a_check_scheduled_for_tomorrow_runs_a_day_later_in_workflow_time(env):
    model = TestModel.returning_responses([
        call("recheck_in_hours", state="TX", hours=24), ResponseBuilders.output_message("I will look again tomorrow."),
        call("get_weather_alerts", state="TX"), ResponseBuilders.output_message("Still no alerts for TX."),
    ])  # fmt: skip
    async with AgentEnvironment(model=model, model_params=MODEL_PARAMS) as agents:
        worker, handle = await start_session(env, agents, f"session-test-{uuid.uuid4().hex[:8]}")
        async with worker:
            wall = time.monotonic()
            await handle.execute_update(ConversationSessionWorkflow.send_message, UserMessage("Check Texas tomorrow."))
            while not any(turn.via == "timer" for turn in await handle.query(ConversationSessionWorkflow.conversation)):
                assert time.monotonic() - wall < 60, "the scheduled check never ran"
                await asyncio.sleep(0.1)
            wall = time.monotonic() - wall
            turns = await handle.query(ConversationSessionWorkflow.conversation)
            await handle.signal(ConversationSessionWorkflow.end_session, "test over")
            await handle.result()
    asked, checked = turns[0], turns[-1]
    assert checked.via == "timer" and "Still no alerts for TX." in checked.text, turns
    waited = datetime.fromisoformat(checked.at) - datetime.fromisoformat(asked.at)
    assert waited >= timedelta(hours=24), f"the check ran {waited} after the question, in workflow time"
    assert wall < 30, f"a day of workflow time took {wall:.1f} s of wall time: time was not skipped"


@pytest.mark.asyncio
async def test_a_rejected_broadcast_is_never_sent(env):
    model = TestModel.returning_responses([
        call("broadcast_public_notice", state="CA", message="Stay indoors."),
        ResponseBuilders.output_message("The notice was not sent: it was rejected."),
    ])  # fmt: skip
    broadcasts.clear()
    async with AgentEnvironment(model=model, model_params=MODEL_PARAMS) as agents:
        worker, handle = await start_session(env, agents, f"session-test-{uuid.uuid4().hex[:8]}")
        async with worker:
            asked = await handle.execute_update(ConversationSessionWorkflow.send_message,
                                                UserMessage("Broadcast 'Stay indoors.' to California."))  # fmt: skip
            [request] = asked.pending_approvals
            reply = await handle.execute_update(ConversationSessionWorkflow.decide_approval,
                                                ApprovalDecision(request.request_id, approve=False, reason="not now"))  # fmt: skip
            await handle.signal(ConversationSessionWorkflow.end_session, "test over")
            summary = await handle.result()
    assert request.tool == "broadcast_public_notice" and "rejected" in reply.text, reply
    assert broadcasts == [] and "broadcast_public_notice" not in scheduled_activities(await handle.fetch_history())
    assert [record.approved for record in summary.approvals] == [False], summary.approvals
