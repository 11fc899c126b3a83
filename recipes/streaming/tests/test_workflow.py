"""The streamed run with the model scripted, followed from outside as a page would follow it: the model's text
arrives as it is written, the workflow's snapshots carry each durable step, the last one the answer.

Temporal's ``TestModel`` does not stream; the Agents SDK's ``ScriptedModel`` (``agents.testing``) does, turning
each scripted answer into the events a model API streams. The weather tool is an activity of the same name that
returns canned alerts.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest
from agents.testing import ScriptedModel, assistant_message, function_call
from temporalio import activity
from temporalio.openai_agents.testing import AgentEnvironment
from temporalio.worker import Worker

from recipes.core.testing import scheduled_activities
from recipes.streaming.subscriber import follow
from recipes.streaming.workflows import StreamingWeatherWorkflow, model_params, start_run

ANSWER = "One wind advisory for California."


@activity.defn(name="get_weather_alerts")
async def canned_alerts(state: str) -> str:
    return f"1 active weather alert for {state}:\n1. Wind Advisory (severity: Moderate, urgency: Expected) - Coast"


class StillWriting(ScriptedModel):
    """A scripted model that, once it has streamed some text, goes on only when ``read`` is set (or after 5 s): a
    scripted answer is otherwise over before a follower can see it, and the snapshot that ends a model call
    truncates the text streamed before it."""

    def __init__(self, steps: list) -> None:
        super().__init__(steps)
        self.read = asyncio.Event()

    async def stream_response(self, *args, **kwargs):
        async for event in super().stream_response(*args, **kwargs):
            yield event
            if event.type == "response.output_text.delta":
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self.read.wait(), 5)


@pytest.mark.asyncio
async def test_the_answer_streams_to_a_follower_and_each_durable_step_is_a_snapshot(env):
    model = StillWriting([[function_call("get_weather_alerts", {"state": "CA"}, call_id="call-1")],
                          [assistant_message(ANSWER)]])  # fmt: skip
    async with AgentEnvironment(model=model, model_params=model_params()) as agents:
        client = agents.applied_on_client(env.client)
        queue = f"streaming-test-{uuid.uuid4().hex[:8]}"
        async with Worker(client, task_queue=queue, workflows=[StreamingWeatherWorkflow], activities=[canned_alerts],
                          workflow_failure_exception_types=[Exception]):  # fmt: skip
            workflow_id = await start_run(client, "Any weather alerts in California?", task_queue=queue, workflow_id=queue)
            updates = []
            async for update in follow(client, workflow_id):
                updates.append(update)
                if update.kind == "delta":
                    model.read.set()
            history = await client.get_workflow_handle(workflow_id).fetch_history()
    kinds = [update.kind for update in updates]
    assert "delta" in kinds and kinds.index("delta") < kinds.index("done"), f"the text came only at the end: {kinds}"
    assert "".join(update.text for update in updates if update.kind == "delta") == ANSWER, updates
    final = updates[-1].view.snapshot
    assert final.status == "done" and final.answer == ANSWER and updates[-1].view.text == ANSWER, final
    assert [segment.kind for segment in final.segments] == ["tool_call", "tool_result", "text"], final.segments
    assert "Wind Advisory" in final.segments[1].detail and final.model_calls == 2, final
    assert scheduled_activities(history) == ["invoke_model_activity_streaming", "get_weather_alerts",
                                             "invoke_model_activity_streaming"]  # fmt: skip
