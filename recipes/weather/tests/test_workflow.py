"""The weather agent's workflow, with the model scripted: what the workflow does with each answer a model may give.

``TestModel.returning_responses`` answers the model calls in order (``ResponseBuilders`` makes a tool call or
a final message); ``AgentEnvironment`` puts it behind the Agents plugin, so every model call is still the
``invoke_model_activity`` a real worker runs. The NWS tool is replaced by an activity of the same name
that returns canned alerts: the workflow cannot tell, and no test here needs a network.
"""

from __future__ import annotations

import json
import uuid

import httpx
import openai
import pytest
from agents import ModelResponse
from temporalio import activity
from temporalio.client import WorkflowFailureError
from temporalio.openai_agents.testing import AgentEnvironment, ResponseBuilders, TestModel
from temporalio.worker import Worker

from recipes.core.testing import scheduled_activities
from recipes.tools.weather_alerts import get_weather_alerts
from recipes.weather.workflows import MODEL_PARAMS, WeatherAgentWorkflow

CANNED_ALERTS = "1 active weather alert for CA:\n1. Wind Advisory (severity: Moderate, urgency: Expected) - Coast"
asked_for: list[str] = []


@activity.defn(name=get_weather_alerts.__name__)
async def canned_alerts(state: str) -> str:
    """Stands in for ``get_weather_alerts``: same name, no HTTP."""
    asked_for.append(state)
    return CANNED_ALERTS


def tool_call(state: str) -> ModelResponse:
    return ResponseBuilders.tool_call(json.dumps({"state": state}), get_weather_alerts.__name__)


async def ask(env, model: TestModel, question: str, activities=(canned_alerts,)):
    """Run the workflow once on a worker whose model is ``model``; the handle of the finished run."""
    asked_for.clear()
    async with AgentEnvironment(model=model, model_params=MODEL_PARAMS) as agents:
        client = agents.applied_on_client(env.client)
        queue = f"weather-test-{uuid.uuid4().hex[:8]}"
        # Any exception in the workflow fails the run: a broken workflow fails its test instead of retrying forever.
        async with Worker(client, task_queue=queue, workflows=[WeatherAgentWorkflow], activities=list(activities),
                          workflow_failure_exception_types=[Exception]):
            handle = await client.start_workflow(WeatherAgentWorkflow.run, question, id=queue, task_queue=queue)
            await handle.result()
            return handle


@pytest.mark.asyncio
async def test_the_agent_calls_the_tool_and_answers_from_it(env):
    model = TestModel.returning_responses([tool_call("CA"), ResponseBuilders.output_message("A wind advisory.")])
    handle = await ask(env, model, "Any weather alerts in California?")
    assert await handle.result() == "A wind advisory."
    assert asked_for == ["CA"], "the tool activity ran once, with the state the model asked for"
    assert scheduled_activities(await handle.fetch_history()) == [
        "invoke_model_activity", "get_weather_alerts", "invoke_model_activity"]  # fmt: skip


@pytest.mark.asyncio
async def test_a_state_that_does_not_exist_reaches_the_model_as_the_tools_answer(env):
    """The real activity refuses ``ZZ`` before any I/O; the workflow hands the refusal to the model and completes."""
    model = TestModel.returning_responses([tool_call("ZZ"), ResponseBuilders.output_message("ZZ is not a state.")])
    handle = await ask(env, model, "Any alerts in ZZ?", activities=[get_weather_alerts])
    assert await handle.result() == "ZZ is not a state."
    second_model_input = model_inputs(await handle.fetch_history())[1]
    assert "'ZZ' is not a US state code" in second_model_input, second_model_input


def model_inputs(history) -> list[str]:
    """What each model call was sent, as the history recorded it (the plugin's activity input, JSON)."""
    return [event.activity_task_scheduled_event_attributes.input.payloads[0].data.decode()
            for event in history.events if event.activity_task_scheduled_event_attributes.activity_type.name
            == "invoke_model_activity"]  # fmt: skip


def model_api_error(status: int, **headers: str) -> openai.APIStatusError:
    """The error the OpenAI client raises for an HTTP ``status`` from the model API."""
    response = httpx.Response(status, headers=headers, request=httpx.Request("POST", "https://api.openai.com/v1"))
    return openai.APIStatusError(f"HTTP {status} from the model API", response=response, body=None)


class Scripted:
    """Model answers in order; an exception in the list is raised instead of answered."""

    def __init__(self, *outcomes: ModelResponse | Exception) -> None:
        self.outcomes, self.calls = list(outcomes), 0

    def __call__(self) -> ModelResponse:
        outcome = self.outcomes[self.calls]
        self.calls += 1
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


@pytest.mark.asyncio
async def test_a_rate_limited_model_call_is_retried_by_temporal_and_the_run_completes(env):
    script = Scripted(model_api_error(429, **{"retry-after-ms": "10"}), tool_call("CA"),
                      ResponseBuilders.output_message("A wind advisory."))  # fmt: skip
    handle = await ask(env, TestModel(script), "Any weather alerts in California?")
    assert await handle.result() == "A wind advisory."
    assert script.calls == 3, "the 429 was retried: three calls made"
    assert scheduled_activities(await handle.fetch_history()).count("invoke_model_activity") == 2, (
        "a retry is a second attempt of the same activity, not a new step in the workflow")


@pytest.mark.asyncio
async def test_a_rejected_key_fails_the_run_at_once_instead_of_retrying(env):
    script = Scripted(model_api_error(401), ResponseBuilders.output_message("never reached"))
    with pytest.raises(WorkflowFailureError) as failed:
        await ask(env, TestModel(script), "Any weather alerts in California?")
    assert script.calls == 1, "a 401 is not retried: retrying cannot fix a key"
    assert "401" in str(failed.value.cause.cause), failed.value.cause
