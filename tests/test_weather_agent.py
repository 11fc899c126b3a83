"""The durable weather agent end to end: offline model, local NWS service, real Temporal server."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from temporalio.client import Client
from temporalio.exceptions import ActivityError, ApplicationError, RetryState
from temporalio.openai_agents import OpenAIAgentsPlugin
from temporalio.worker import Worker

from recipes.core.models import choose_model
from recipes.core.tool_errors import tool_error_text
from recipes.tools.weather_alerts import WEATHER_ACTIVITIES
from tutorial.history import activity_steps, fetch_history, model_and_tool_sequence
from recipes.tools.alerts_tool import explain_severity, weather_alerts_tool
from recipes.weather.workflows import MODEL_PARAMS, WeatherAgentWorkflow


async def ask(address: str, *questions: str) -> list[tuple[str, object]]:
    """Run each question through an in-process worker; return (answer, history) pairs."""
    plugin = OpenAIAgentsPlugin(model_params=MODEL_PARAMS, model_provider=choose_model("offline").provider())
    client = await Client.connect(address, plugins=[plugin])
    queue = f"test-weather-{uuid.uuid4().hex[:8]}"
    results = []
    async with Worker(client, task_queue=queue, workflows=[WeatherAgentWorkflow], activities=WEATHER_ACTIVITIES):
        for question in questions:
            handle = await client.start_workflow(
                WeatherAgentWorkflow.run, question, id=f"weather-{uuid.uuid4().hex[:8]}", task_queue=queue
            )
            answer = await asyncio.wait_for(handle.result(), timeout=60)
            results.append((answer, await fetch_history(handle)))
    return results


def test_alerts_question_is_model_tool_model(temporal_server, weather):
    weather.reset()
    [(answer, history)] = asyncio.run(ask(temporal_server.address, "Any weather alerts in California?"))
    assert model_and_tool_sequence(history) == ["model", "tool:get_weather_alerts", "model"]
    steps = activity_steps(history)
    assert [s.status for s in steps] == ["completed"] * 3
    assert steps[0].activity_type == "invoke_model_activity" and steps[0].summary == "Weather agent"
    assert 'get_weather_alerts({"state":"CA"})' in steps[0].result
    assert "Red Flag Warning" in answer and "3 active weather alerts for CA" in answer
    assert [r["area"] for r in weather.requests()] == ["CA"]


def test_bad_state_reaches_the_model_and_the_workflow_completes(temporal_server, weather):
    weather.reset()
    [(answer, history)] = asyncio.run(ask(temporal_server.address, "Any weather alerts for state code 'ZZ'?"))
    assert model_and_tool_sequence(history) == ["model", "tool:get_weather_alerts", "model"]
    tool = activity_steps(history)[1]
    assert tool.status == "failed" and tool.attempts == 1  # non-retryable: no second attempt
    assert tool.failure_type == "InvalidState" and tool.non_retryable
    # The model read the tool error as the tool's result, and told the user.
    assert "Tool get_weather_alerts failed: 'ZZ' is not a US state code" in json.dumps(activity_steps(history)[2].arguments)
    assert "'ZZ' is not a US state code" in answer and "Check the arguments" not in answer
    assert weather.requests() == []  # rejected before any I/O


def test_transient_failure_is_retried_inside_the_tool_call(temporal_server, weather):
    weather.reset()
    weather.fail_next(1, 503)
    [(answer, history)] = asyncio.run(ask(temporal_server.address, "Any weather alerts in Texas?"))
    tool = activity_steps(history)[1]
    assert tool.status == "completed" and tool.attempts == 2
    assert "NWSServerError" in tool.last_failure
    assert [r["status"] for r in weather.requests()] == [503, 200]
    assert "2 active weather alerts for TX" in answer


def test_workflow_tool_leaves_no_activity(temporal_server, weather):
    weather.reset()
    [(answer, history)] = asyncio.run(ask(temporal_server.address, "What does the severity level Severe mean?"))
    assert model_and_tool_sequence(history) == ["model", "model"]  # explain_severity ran inside the workflow
    assert "Significant threat to life or property" in answer
    assert weather.requests() == []


def test_tool_description_is_generated_from_the_activity():
    tool = weather_alerts_tool()
    assert tool.name == "get_weather_alerts"
    assert tool.description.startswith("Get active weather alerts")
    assert tool.params_json_schema["required"] == ["state"]
    assert tool.params_json_schema["properties"]["state"]["type"] == "string"
    assert explain_severity.params_json_schema["properties"]["level"]["enum"][:2] == ["Extreme", "Severe"]


def test_malformed_and_invalid_arguments_become_tool_results():
    """Both errors happen before the activity is scheduled, so no workflow is needed here."""
    tool = weather_alerts_tool()
    bad_json = asyncio.run(tool.on_invoke_tool(None, '{"state": "CA"'))
    assert bad_json.startswith("Tool get_weather_alerts failed: Invalid JSON input")
    missing = asyncio.run(tool.on_invoke_tool(None, json.dumps({"city": "Austin"})))
    assert missing.startswith("Tool get_weather_alerts failed:") and "state" in missing


def test_tool_error_text_says_whether_retrying_helps():
    cause = ApplicationError("'ZZ' is not a US state code", type="InvalidState", non_retryable=True)
    err = ActivityError("activity error", scheduled_event_id=5, started_event_id=6, identity="w",
                        activity_type="get_weather_alerts", activity_id="2",
                        retry_state=RetryState.NON_RETRYABLE_FAILURE)
    err.__cause__ = cause
    text = tool_error_text("get_weather_alerts", err)
    assert "'ZZ' is not a US state code" in text and "InvalidState" in text and "not retried" in text


@pytest.mark.integration
def test_worker_and_starter_entrypoints(temporal_server, weather):
    """The two-terminal flow: `python -m recipes.weather.worker`, then the starter."""
    from recipes.core.worker import READY_TEXT
    from tutorial.processes import python_module

    weather.reset()
    env = {"TEMPORAL_ADDRESS": temporal_server.address, "AGENT_MODEL_BACKEND": "offline", "NWS_API_URL": weather.url,
           "WEATHER_TASK_QUEUE": f"test-weather-cli-{uuid.uuid4().hex[:6]}"}  # a stray worker must not take it
    worker = python_module("test-weather-worker", "recipes.weather.worker", env=env, ready_text=READY_TEXT)
    starter = python_module("test-weather-starter", "recipes.weather.starter", "Any weather alerts in New York?", env=env)
    try:
        worker.start(timeout=60)
        starter.start()
        assert starter.wait(timeout=60) == 0, starter.log_tail()
        out = starter.log()
        assert "3 active weather alerts for NY" in out and "Web UI: http" in out
        assert [r["area"] for r in weather.requests()] == ["NY"]
    finally:
        starter.stop()
        worker.stop()
