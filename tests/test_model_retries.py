"""A failing model call inside a workflow, on the real OpenAI wire path (the double):
the OpenAI client does not retry (``max_retries=0``), Temporal does -- a 5xx again
after the policy's backoff, a 429 after its ``Retry-After`` -- and a rejected key
fails at once with no retry."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.openai_agents import OpenAIAgentsPlugin
from temporalio.worker import Worker

from recipes.core.models import choose_model
from recipes.core.scripts import root_cause
from recipes.tools.weather_alerts import WEATHER_ACTIVITIES
from recipes.tutorial.history import activity_steps
from recipes.weather.workflows import MODEL_PARAMS, WeatherAgentWorkflow

BACKENDS = ["openai-compatible", "openai"]


async def _ask(address: str, backend: str, base_url: str, question: str = "Any weather alerts in Texas?"):
    provider = choose_model(backend, base_url=base_url).provider()
    client = await Client.connect(address, plugins=[OpenAIAgentsPlugin(model_params=MODEL_PARAMS, model_provider=provider)])
    queue = f"test-model-retries-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=[WeatherAgentWorkflow], activities=WEATHER_ACTIVITIES):
        handle = await client.start_workflow(WeatherAgentWorkflow.run, question, id=f"retries-{uuid.uuid4().hex[:8]}",
                                             task_queue=queue)  # fmt: skip
        try:
            result = await asyncio.wait_for(handle.result(), 90)
        except WorkflowFailureError as err:
            result = err
        return result, activity_steps(await handle.fetch_history())


def _times(double) -> list[datetime]:
    return [datetime.fromisoformat(r["time"].replace("Z", "+00:00")) for r in double.requests()]


@pytest.fixture
def double(model_double, weather, monkeypatch):
    for name, value in model_double.env().items():
        monkeypatch.setenv(name, value)
    model_double.reset()
    yield model_double
    model_double.reset()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_5xx_is_retried_by_temporal_not_by_the_client(backend, double, temporal_server):
    double.fail_next(1, status=503)
    answer, steps = asyncio.run(_ask(temporal_server.address, backend, double.url))
    first = steps[0]
    assert isinstance(answer, str) and first.is_model_call and first.status == "completed"
    # Two HTTP requests for the first model call, and the history shows them as two attempts:
    # with client retries on, the client would have retried inside attempt 1 and Temporal seen nothing.
    assert first.attempts == 2 and "503" in first.last_failure, first
    assert [r["status"] for r in double.requests()][:2] == [503, 200]
    gap = (_times(double)[1] - _times(double)[0]).total_seconds()
    assert gap >= MODEL_PARAMS.retry_policy.initial_interval.total_seconds() * 0.9, gap


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_429_waits_for_its_retry_after(backend, double, temporal_server):
    double.fail_next(1, status=429, retry_after_s=3)  # longer than the policy's first backoff (1 s)
    answer, steps = asyncio.run(_ask(temporal_server.address, backend, double.url))
    assert isinstance(answer, str) and steps[0].attempts == 2 and "429" in steps[0].last_failure
    gap = (_times(double)[1] - _times(double)[0]).total_seconds()
    assert gap >= 2.9 > MODEL_PARAMS.retry_policy.initial_interval.total_seconds(), gap


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_rejected_key_fails_at_once(backend, double, temporal_server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
    failure, steps = asyncio.run(_ask(temporal_server.address, backend, double.url))
    assert isinstance(failure, WorkflowFailureError), failure
    assert steps[0].status == "failed" and steps[0].attempts == 1
    assert [r["status"] for r in double.requests()] == [401], "no retry: a wrong key stays wrong"
    assert "401" in root_cause(failure)
