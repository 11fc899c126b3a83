"""The one test that asks the model you chose (a real one, or the tutorial's offline stand-in): can the model you chose drive this workflow? It must call the tool
for the state it was asked about and answer. The scripted tests prove the workflow; this proves the model.

It runs only when a model is chosen (``AGENT_MODEL_BACKEND``, see the README's Switches; the worker's own
model switch, so a key stays in the environment), and costs one question's model calls.
"""

from __future__ import annotations

import os
import uuid

import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from recipes.core.worker import agents_plugin
from recipes.weather.workflows import MODEL_PARAMS, WeatherAgentWorkflow

from .test_workflow import asked_for, canned_alerts

pytestmark = pytest.mark.skipif(not os.environ.get("AGENT_MODEL_BACKEND"),
                                reason="no model chosen: set AGENT_MODEL_BACKEND to ask one")  # fmt: skip


@pytest.mark.asyncio
async def test_the_chosen_model_calls_the_tool_for_the_state_asked_about_and_answers(env):
    plugin, _ = agents_plugin(MODEL_PARAMS)
    client = Client(**{**env.client.config(), "plugins": [plugin]})
    queue = f"weather-real-model-{uuid.uuid4().hex[:8]}"
    asked_for.clear()
    async with Worker(client, task_queue=queue, workflows=[WeatherAgentWorkflow], activities=[canned_alerts]):
        answer = await client.execute_workflow(WeatherAgentWorkflow.run, "Any weather alerts in California?",
                                               id=queue, task_queue=queue)  # fmt: skip
    assert asked_for and asked_for[0].strip().upper() in ("CA", "CALIFORNIA"), f"the tool was called for {asked_for}"
    assert answer.strip(), "the model answered with nothing"
