"""A failing model call inside a workflow, on each real wire path (the double): OpenAI's
two APIs, and Claude (Anthropic's Messages API) and Gemini (generateContent) through
LiteLLM. The client does not retry (``max_retries=0``, LiteLLM's ``num_retries=0``);
Temporal does -- a 5xx (and Anthropic's 529 "overloaded") again after the policy's
backoff, a 429 after its ``Retry-After`` -- and a rejected key fails at once, no retry."""

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
from tutorial.history import activity_steps
from recipes.weather.workflows import MODEL_PARAMS, WeatherAgentWorkflow

#: path -> (model switch backend, which of the double's formats it speaks)
PATHS = {"openai-compatible": ("openai-compatible", "openai"), "openai": ("openai", "openai"),
         "claude": ("litellm", "anthropic"), "gemini": ("litellm", "gemini")}  # fmt: skip
KEY_ENV = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY", "gemini": "GEMINI_API_KEY"}


async def _ask(address: str, path: str, question: str = "Any weather alerts in Texas?"):
    provider = choose_model(PATHS[path][0]).provider()
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


@pytest.fixture(params=list(PATHS))
def path(request, model_double, weather, monkeypatch):
    """Each wire path in turn, its client settings in the environment (as a worker reads them)."""
    for name in ("OPENAI_BASE_URL", "LITELLM_API_BASE", "LITELLM_MODEL", *KEY_ENV.values()):
        monkeypatch.delenv(name, raising=False)
    for name, value in model_double.env(provider=PATHS[request.param][1]).items():
        monkeypatch.setenv(name, value)
    model_double.reset()
    yield request.param
    model_double.reset()


@pytest.fixture
def double(model_double, path):
    return model_double


def test_a_5xx_is_retried_by_temporal_not_by_the_client(path, double, temporal_server):
    double.fail_next(1, status=503)
    answer, steps = asyncio.run(_ask(temporal_server.address, path))
    first = steps[0]
    assert isinstance(answer, str) and first.is_model_call and first.status == "completed"
    # Two HTTP requests for the first model call, and the history shows them as two attempts:
    # with client retries on, the client would have retried inside attempt 1 and Temporal seen nothing.
    assert first.attempts == 2 and "503" in first.last_failure, first
    assert [r["status"] for r in double.requests()][:2] == [503, 200]
    gap = (_times(double)[1] - _times(double)[0]).total_seconds()
    assert gap >= MODEL_PARAMS.retry_policy.initial_interval.total_seconds() * 0.9, gap


def test_a_429_waits_for_its_retry_after(path, double, temporal_server):
    double.fail_next(1, status=429, retry_after_s=3)  # longer than the policy's first backoff (1 s)
    answer, steps = asyncio.run(_ask(temporal_server.address, path))
    assert isinstance(answer, str) and steps[0].attempts == 2 and "429" in steps[0].last_failure
    gap = (_times(double)[1] - _times(double)[0]).total_seconds()
    assert gap >= 2.9 > MODEL_PARAMS.retry_policy.initial_interval.total_seconds(), gap


def test_a_rejected_key_fails_at_once(path, double, temporal_server, monkeypatch):
    provider = PATHS[path][1]
    monkeypatch.setenv(KEY_ENV[provider], "sk-wrong")
    failure, steps = asyncio.run(_ask(temporal_server.address, path))
    assert isinstance(failure, WorkflowFailureError), failure
    assert steps[0].status == "failed" and steps[0].attempts == 1
    statuses = [r["status"] for r in double.requests()]
    assert len(statuses) == 1 and statuses[0] in (400, 401), "no retry: a wrong key stays wrong"
    if provider == "openai":
        assert "401" in root_cause(failure)
    else:  # one sentence naming the variable to fix
        assert root_cause(failure).startswith(
            f"ModelAuthenticationError: {provider} rejected the API key in {KEY_ENV[provider]} (HTTP "), root_cause(failure)


def test_claude_overloaded_529_is_retried(model_double, weather, temporal_server, monkeypatch):
    for name, value in model_double.env(provider="anthropic").items():
        monkeypatch.setenv(name, value)
    model_double.reset()
    model_double.fail_next(1, status=529)
    try:
        answer, steps = asyncio.run(_ask(temporal_server.address, "claude"))
    finally:
        model_double.reset()
    assert isinstance(answer, str) and steps[0].attempts == 2, steps[0]
    assert "overloaded" in steps[0].last_failure.lower(), steps[0].last_failure
